import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ClientsFile } from './clients-file.schema';
import type { AuthenticatedSecret, GatewayClient } from './gateway-client';

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
        secretSha256s: [sha256(secret)],
        requestTypes: undefined,
        itemTypes: undefined,
        requestsPerMinute: undefined,
        pairsPerMinute: undefined,
        webhook: undefined,
        budgetWeight: 1,
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
  const clients = parsed.clients.map((c) => ({
    id: c.id,
    secretSha256s: (Array.isArray(c.secretSha256) ? c.secretSha256 : [c.secretSha256]).map((h) =>
      Buffer.from(h, 'hex'),
    ),
    requestTypes: c.requestTypes === undefined ? undefined : new Set(c.requestTypes),
    itemTypes: c.itemTypes === undefined ? undefined : new Set(c.itemTypes),
    requestsPerMinute: c.requestsPerMinute,
    pairsPerMinute: c.pairsPerMinute,
    webhook:
      c.webhook === undefined
        ? undefined
        : {
            url: c.webhook.url,
            secrets: Array.isArray(c.webhook.secret) ? [...c.webhook.secret] : [c.webhook.secret],
          },
    budgetWeight: c.budgetWeight ?? 1,
  }));
  const problems = duplicates(clients);
  if (problems.length > 0)
    throw new Error(`CLIENTS_FILE ${file} is invalid:\n  - ${problems.join('\n  - ')}`);
  return clients;
}

/** A repeated id or secret would make "which client is this" depend on the order of the file. */
function duplicates(clients: readonly GatewayClient[]): string[] {
  const problems: string[] = [];
  const ids = new Map<string, number>();
  const hashes = new Map<string, number>();
  clients.forEach((c, i) => {
    const seen = ids.get(c.id);
    if (seen !== undefined) problems.push(`clients[${seen}] and clients[${i}] have the same id "${c.id}"`);
    else ids.set(c.id, i);
    for (const hash of c.secretSha256s) {
      const hex = hash.toString('hex');
      const owner = hashes.get(hex);
      if (owner === undefined) hashes.set(hex, i);
      else {
        problems.push(
          `clients[${owner}] ("${clients[owner]?.id ?? ''}") and clients[${i}] ("${c.id}") have the same secretSha256; every secret must be unique`,
        );
      }
    }
  });
  return problems;
}

/** A bound that a clients file never reaches (one entry per secret), should one ever be reloaded. */
const MAX_MATCHED_SECRETS = 10_000;

@Injectable()
export class ClientRegistry {
  private readonly entries: { client: GatewayClient; secretSha256: Buffer }[];
  private readonly byId: Map<string, GatewayClient>;
  private readonly matched = new Map<string, AuthenticatedSecret>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const clients = loadClients(config);
    this.entries = clients.flatMap((client) =>
      client.secretSha256s.map((secretSha256) => ({ client, secretSha256 })),
    );
    this.byId = new Map(clients.map((c) => [c.id, c]));
  }

  get(id: string): GatewayClient | undefined {
    return this.byId.get(id);
  }

  all(): GatewayClient[] {
    return [...this.byId.values()];
  }

  /** The webhook signing secrets, in plain text (HMAC needs them): the log scrubber must know them. */
  webhookSecrets(): string[] {
    return this.all().flatMap((c) => c.webhook?.secrets ?? []);
  }

  /**
   * Constant-time hash compares. Matched secrets are cached by value (skips SHA-256, ≈ 2 % of accept): only
   * a right secret enters, and a miss compares no characters unless V8's seeded hashes collide (no timing leak).
   */
  findBySecret(secret: string): AuthenticatedSecret | undefined {
    const known = this.matched.get(secret);
    if (known !== undefined) return known;
    const digest = sha256(secret);
    let found: AuthenticatedSecret | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(digest, e.secretSha256)) found = e;
    }
    if (found !== undefined && this.matched.size < MAX_MATCHED_SECRETS) this.matched.set(secret, found);
    return found;
  }

  authenticate(clientId: string, secret: string): AuthenticatedSecret | undefined {
    const found = this.findBySecret(secret);
    return found?.client.id === clientId ? found : undefined;
  }
}
