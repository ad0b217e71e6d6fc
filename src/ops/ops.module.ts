import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { PINO_LOGGER, type PinoLogger } from './logger';
import { MetricsModule } from './metrics.module';
import { queueDashboardModules } from './queue-dashboard.module';

/** Provides the process's pino logger to every feature: `@Inject(PINO_LOGGER) logger: PinoLogger`. */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(logger: PinoLogger): DynamicModule {
    return {
      module: LoggingModule,
      providers: [{ provide: PINO_LOGGER, useValue: logger }],
      exports: [PINO_LOGGER],
    };
  }
}

/** Operations for every role: logging, metrics, and (api roles with ADMIN_USER) the queue dashboard. */
@Module({})
export class OpsModule {
  static forRoot(config: AppConfig, logger: PinoLogger): DynamicModule {
    return {
      module: OpsModule,
      imports: [LoggingModule.forRoot(logger), MetricsModule, ...queueDashboardModules(config)],
    };
  }
}
