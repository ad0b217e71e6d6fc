import { type DynamicModule, Global, Module } from '@nestjs/common';
import { PINO_LOGGER, type PinoLogger } from './logger';
import { MetricsModule } from './metrics.module';

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

@Module({})
export class OpsModule {
  static forRoot(logger: PinoLogger): DynamicModule {
    return {
      module: OpsModule,
      imports: [LoggingModule.forRoot(logger), MetricsModule],
    };
  }
}
