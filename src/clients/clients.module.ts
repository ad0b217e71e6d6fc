import { Module } from '@nestjs/common';
import { ClientRegistry } from './client-registry.service';

/** The calling apps of the clients file, for the API (authentication) and the worker (webhooks). */
@Module({ providers: [ClientRegistry], exports: [ClientRegistry] })
export class ClientsModule {}
