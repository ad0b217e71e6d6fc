// What every ingress benchmark sends and runs: the request, its credentials, the clients file and the
// gateway's settings (bench/run.mjs for time, bench/instructions.mjs for instructions), so both measure
// the same targets under the same configuration.
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accessRequestBody } from './body.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const SECRET = 'bench-client-secret-0123456789abcdef';
export const SERVER_BARE = join(here, 'server-bare.mjs');
export const SERVER_BASELINE = join(here, 'server-baseline.mjs');
export const BASELINE_ENV = { BENCH_SECRET: SECRET };

/** dist/main.js of a checkout (this one by default), which must be built. */
export function gatewayMain(checkout = join(here, '..')) {
  const main = join(checkout, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build that checkout first (npm run build)`);
  return main;
}

/** The body (dates relative to now) and headers of every benchmark request. */
export function benchRequest() {
  return {
    body: JSON.stringify(accessRequestBody()),
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${SECRET}` },
  };
}

/**
 * The gateway's environment with one client. `quota: false` leaves the client without a limit, so the
 * quota script never runs (to measure what it costs); by default the limit never trips but runs on
 * every request.
 */
export function gatewayEnv(workDir, { logLevel = 'info', acceptedLogLevel = 'info', quota = true } = {}) {
  const clientsFile = join(workDir, quota ? 'clients.json' : 'clients-no-quota.json');
  writeFileSync(
    clientsFile,
    JSON.stringify({
      clients: [
        {
          id: 'bench',
          secretSha256: createHash('sha256').update(SECRET).digest('hex'),
          ...(quota ? { requestsPerMinute: 1_000_000 } : {}),
        },
      ],
    }),
  );
  return {
    NODE_ENV: 'production',
    ROLE: 'api',
    // Production's level by default: one access log line per request.
    LOG_LEVEL: logLevel,
    ACCESS_LOG_ACCEPTED_LEVEL: acceptedLogLevel,
    CLIENTS_FILE: clientsFile,
    TOKEN_SIGNING_SECRET: 'bench-signing-secret-0123456789abcdef0123',
    QUEUE_PREFIX: 'arg',
  };
}
