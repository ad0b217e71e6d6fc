import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createGateway, type GatewayOptions } from './app.factory';
import type { AppConfig } from './config/app-config';
import type { IdnConnection } from './identitynow/identitynow.tokens';
import { createSimulator, type RunningSimulator, simulatorOptionsFromConfig } from './simulator';
import { SubmissionModule } from './submission/submission.module';

export interface RunningGateway {
  readonly app: NestFastifyApplication;
  /** Set when IDN_BASE_URL is unset and this process runs a worker. */
  readonly simulator: RunningSimulator | undefined;
  close(): Promise<void>;
}

/**
 * Where the worker sends IdentityNow calls: the configured tenant, or, when IDN_BASE_URL is unset,
 * an embedded simulator on a free loopback port with matching credentials.
 */
export async function resolveIdentityNow(
  config: AppConfig,
  logger: LoggerService,
): Promise<{ connection: IdnConnection; simulator: RunningSimulator | undefined }> {
  const { baseUrl, tokenUrl, clientId, clientSecret } = config.idn;
  if (
    baseUrl !== undefined &&
    tokenUrl !== undefined &&
    clientId !== undefined &&
    clientSecret !== undefined
  ) {
    return { connection: { baseUrl, tokenUrl, clientId, clientSecret }, simulator: undefined };
  }
  const simulator = await createSimulator(
    simulatorOptionsFromConfig(config, {
      logger: (e) => {
        if (e.level === 'warn') logger.warn(e.msg, 'IdentityNowSimulator');
      },
    }),
  );
  logger.log(
    `IDN_BASE_URL is unset: started the embedded IdentityNow simulator at ${simulator.url} ` +
      `(records at ${simulator.url}/__sim/records); set IDN_BASE_URL to use a tenant`,
  );
  return {
    connection: {
      baseUrl: simulator.url,
      tokenUrl: `${simulator.url}/oauth/token`,
      clientId: simulator.credentials.clientId,
      clientSecret: simulator.credentials.clientSecret,
    },
    simulator,
  };
}

/** The whole process for a configuration: the HTTP app, and the worker when the role asks for it. */
export async function bootstrap(
  config: AppConfig,
  logger: LoggerService,
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const runsWorker = config.role === 'worker' || config.role === 'all';
  const idn = runsWorker ? await resolveIdentityNow(config, logger) : undefined;
  const app = await createGateway(config, {
    logger,
    ...options,
    workerModules:
      idn === undefined ? [] : [SubmissionModule.forRoot({ connection: { useValue: idn.connection } })],
  });
  return {
    app,
    simulator: idn?.simulator,
    async close() {
      await app.close();
      await idn?.simulator?.close();
    },
  };
}
