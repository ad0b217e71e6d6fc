import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestClient {
  id: string;
  /** Two while a secret is being rotated. */
  secret: string | string[];
  requestTypes?: string[];
  itemTypes?: string[];
  requestsPerMinute?: number;
  pairsPerMinute?: number;
  webhook?: { url: string; secret: string | string[] };
  budgetWeight?: number;
}

const hex = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** Writes a CLIENTS_FILE (secrets stored only as sha256) and returns its path. */
export function writeClientsFile(clients: TestClient[], file?: string): string {
  const path = file ?? join(mkdtempSync(join(tmpdir(), 'arg-clients-')), 'clients.json');
  writeFileSync(
    path,
    JSON.stringify({
      clients: clients.map(({ secret, ...rest }) => ({
        ...rest,
        secretSha256: Array.isArray(secret) ? secret.map(hex) : hex(secret),
      })),
    }),
  );
  return path;
}

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef0123';

/** The built-in development client (DEV_CLIENT_SECRET's default) that every test gateway accepts. */
export const AUTH = 'Bearer dev-secret';

export const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
