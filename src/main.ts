import 'reflect-metadata';
import { setFlagsFromString } from 'node:v8';
import { bootstrap } from './bootstrap';
import { createLogger, NestPinoLogger } from './ops/logger';
import { ConfigValidationError, loadConfigFromProcessEnv, type AppConfig } from './config/app-config';

// V8 lets the old generation grow to about four times the live heap before a full collection: under
// the accept load that was promoted garbage (41 MiB live, peak RSS 215-230 MiB). Growing by half
// instead keeps the peak near 170 MiB at no measurable CPU cost (docs/benchmarks.md, "Memory").
setFlagsFromString('--heap-growing-percent=50');

/** ROLE=api (HTTP), worker (queue, plus health and metrics) or all. */
async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfigFromProcessEnv();
  } catch (e) {
    if (e instanceof ConfigValidationError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  // One pino JSON logger for the whole process: our lines, Nest's framework lines, the worker's.
  const pino = createLogger(config);
  const logger = new NestPinoLogger(pino.child({ component: 'main' }));
  const gateway = await bootstrap(config, logger, { pino, logger: new NestPinoLogger(pino) });
  await gateway.app.listen({ port: config.http.port, host: '0.0.0.0' });
  logger.log(
    `access-request-gateway (role ${config.role}) listening on port ${config.http.port}; OpenAPI at /docs`,
  );

  // Our own signal handling (not Nest's enableShutdownHooks, which re-raises the signal): close
  // everything (the worker lets in-flight jobs finish within SHUTDOWN_GRACE_MS), then exit 0.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: shutting down`);
    const hardStop = setTimeout(() => {
      logger.error('shutdown took longer than SHUTDOWN_GRACE_MS + 10 s; exiting');
      process.exit(1);
    }, config.submission.shutdownGraceMs + 10_000);
    hardStop.unref();
    gateway.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error(`error during shutdown: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((e: unknown) => {
  process.stderr.write(
    `access-request-gateway failed to start: ${e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
