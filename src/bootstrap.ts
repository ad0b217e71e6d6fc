import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createGateway, type GatewayOptions } from './app.factory';
import type { AppConfig } from './config/app-config';
import type { IdnConnection } from './identitynow/identitynow.tokens';
import { ReadinessService } from './ops/readiness.service';
import { createSimulator, type RunningSimulator, simulatorOptionsFromConfig } from './simulator';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { SubmissionModule } from './submission/submission.module';
import { WorkerCoreModule } from './submission/worker-core.module';

export interface RunningGateway {
  readonly app: NestFastifyApplication;
  /** Set when IDN_BASE_URL is unset and this process runs a worker. */
  readonly simulator: RunningSimulator | undefined;
  close(): Promise<void>;
}

/** The IdentityNow a worker talks to, for logs and readiness: an origin, never credentials or a path. */
export function identityNowTarget(
  connection: IdnConnection,
  simulator: RunningSimulator | undefined,
): string {
  return simulator === undefined
    ? `tenant ${new URL(connection.baseUrl).origin}`
    : `embedded simulator at ${simulator.url}`;
}

/** The configured tenant, or without IDN_BASE_URL (development only) an embedded simulator on loopback. */
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
  if (config.env !== 'development') {
    throw new Error('IDN_BASE_URL is required in production: the embedded IdentityNow simulator is refused');
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
      idn === undefined
        ? []
        : [
            WorkerCoreModule.forRoot({ connection: { useValue: idn.connection } }),
            SubmissionModule,
            LifecycleModule.forRoot(),
          ],
  });
  if (idn !== undefined) {
    const target = identityNowTarget(idn.connection, idn.simulator);
    logger.log(`IdentityNow: ${target}`);
    app.get(ReadinessService).register({ name: 'identitynow', check: () => `ok (${target})` });
  }
  return {
    app,
    simulator: idn?.simulator,
    async close() {
      await app.close();
      await idn?.simulator?.close();
    },
  };
}
