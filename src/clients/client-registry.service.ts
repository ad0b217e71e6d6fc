import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ClientsFile } from './clients-file.schema';
import type { GatewayClient } from './gateway-client';

export const DEV_CLIENT_ID = 'dev';

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Loads and validates the clients file once, at boot; a bad file stops the process with reasons. */
export function loadClients(config: AppConfig): GatewayClient[] {
  const file = config.auth.clientsFile;
  if (file === undefined) {
    const secret = config.auth.devClientSecret ?? '';
    return [
      {
        id: DEV_CLIENT_ID,
        secretSha256: sha256(secret),
        requestTypes: undefined,
        itemTypes: undefined,
        requestsPerMinute: undefined,
        webhook: undefined,
      },
    ];
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`CLIENTS_FILE ${file} cannot be read as JSON: ${(e as Error).message}`, { cause: e });
  }
  const parsed = plainToInstance(ClientsFile, raw);
  const errors = validateSync(parsed, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const flat = (es: typeof errors, path: string): string[] =>
      es.flatMap((e) => [
        ...Object.values(e.constraints ?? {}).map((m) => `${path}${e.property}: ${m}`),
        ...flat(e.children ?? [], `${path}${e.property}.`),
      ]);
    const problems = [...new Set(flat(errors, ''))];
    throw new Error(`CLIENTS_FILE ${file} is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  const ids = new Set<string>();
  return parsed.clients.map((c) => {
    if (ids.has(c.id)) throw new Error(`CLIENTS_FILE ${file}: client id "${c.id}" appears twice`);
    ids.add(c.id);
    return {
      id: c.id,
      secretSha256: Buffer.from(c.secretSha256, 'hex'),
      requestTypes: c.requestTypes === undefined ? undefined : new Set(c.requestTypes),
      itemTypes: c.itemTypes === undefined ? undefined : new Set(c.itemTypes),
      requestsPerMinute: c.requestsPerMinute,
      webhook: c.webhook === undefined ? undefined : { url: c.webhook.url, secret: c.webhook.secret },
    };
  });
}

@Injectable()
export class ClientRegistry {
  private readonly clients: GatewayClient[];
  private readonly byId: Map<string, GatewayClient>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.clients = loadClients(config);
    this.byId = new Map(this.clients.map((c) => [c.id, c]));
  }

  get(id: string): GatewayClient | undefined {
    return this.byId.get(id);
  }

  /** Compares every client's hash in constant time: the time taken says nothing about a match. */
  findBySecret(secret: string): GatewayClient | undefined {
    const digest = sha256(secret);
    let found: GatewayClient | undefined;
    for (const c of this.clients) {
      if (timingSafeEqual(digest, c.secretSha256)) found = c;
    }
    return found;
  }

  authenticate(clientId: string, secret: string): GatewayClient | undefined {
    const client = this.findBySecret(secret);
    return client?.id === clientId ? client : undefined;
  }
}
