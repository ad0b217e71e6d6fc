import pino from 'pino';
import { loadConfigFromProcessEnv } from '../config/app-config';
import { createSimulator } from './simulator.server';
import { simulatorOptionsFromConfig } from './simulator-options';

/** `npm run simulator`: the code the gateway embeds, standing alone on SIMULATOR_HOST:SIMULATOR_PORT. */
async function main(): Promise<void> {
  const config = loadConfigFromProcessEnv();
  const logger = pino({ level: config.logLevel, base: { component: 'idn-simulator' } });
  const sim = await createSimulator(
    simulatorOptionsFromConfig(config, {
      standalone: true,
      logger: (e) => {
        logger[e.level](e.data ?? {}, e.msg);
      },
    }),
  );
  logger.info(
    {
      url: sim.url,
      clientId: sim.credentials.clientId,
      rateLimit: `${config.simulator.rateLimitMax}/${config.simulator.rateLimitWindowMs}ms`,
      controlApi: config.simulator.controlApi,
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
