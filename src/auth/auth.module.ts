import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { ClientAuthGuard } from './auth.guard';
import { GatewayTokenService } from './gateway-token.service';
import { OAuthController } from './oauth.controller';

@Module({
  imports: [ClientsModule],
  controllers: [OAuthController],
  providers: [GatewayTokenService, ClientAuthGuard],
  exports: [ClientsModule, GatewayTokenService, ClientAuthGuard],
})
export class AuthModule {}
