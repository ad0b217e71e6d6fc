import { Module } from '@nestjs/common';
import { ClientAuthGuard } from './auth.guard';
import { ClientRegistry } from './client-registry.service';
import { GatewayTokenService } from './gateway-token.service';
import { OAuthController } from './oauth.controller';

@Module({
  controllers: [OAuthController],
  providers: [ClientRegistry, GatewayTokenService, ClientAuthGuard],
  exports: [ClientRegistry, GatewayTokenService, ClientAuthGuard],
})
export class AuthModule {}
