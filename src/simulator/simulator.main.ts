import pino from 'pino';
import { loadSimulatorConfigFromProcessEnv } from '../config/simulator-config';
import { createSimulator } from './simulator.server';
import { simulatorOptionsFromConfig } from './simulator-options';

/** `npm run simulator`: reads only SIMULATOR_*, so no gateway setting (or production) stops it. */
async function main(): Promise<void> {
  const simulator = loadSimulatorConfigFromProcessEnv();
  const logger = pino({ level: simulator.logLevel, base: { component: 'idn-simulator' } });
  const sim = await createSimulator(
    simulatorOptionsFromConfig(
      { simulator },
      {
        standalone: true,
        logger: (e) => {
          logger[e.level](e.data ?? {}, e.msg);
        },
      },
    ),
  );
  logger.info(
    {
      url: sim.url,
      clientId: sim.credentials.clientId,
      rateLimit: `${simulator.rateLimitMax}/${simulator.rateLimitWindowMs}ms`,
      controlApi: simulator.controlApi,
    },
    'IdentityNow simulator ready',
  );
  const stop = (signal: string): void => {
    logger.info({ signal }, 'IdentityNow simulator stopping');
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => {
    stop('SIGINT');
  });
  process.once('SIGTERM', () => {
    stop('SIGTERM');
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
