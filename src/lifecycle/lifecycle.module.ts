import { type DynamicModule, Module } from '@nestjs/common';
import { WorkerRedisModule } from '../redis/worker-redis.module';
import { CancelProcessor } from './cancel.processor';
import { CancelService } from './cancel.service';
import { LifecyclePoller } from './lifecycle.poller';
import { LifecycleService } from './lifecycle.service';
import { LIFECYCLE_DEFAULTS, LIFECYCLE_SETTINGS, type LifecycleSettings } from './lifecycle.settings';

export interface LifecycleModuleOptions {
  readonly settings?: Partial<LifecycleSettings>;
}

/** Following submitted pairs and cancelling them in IdentityNow (ROLE=worker|all), on WorkerCoreModule. */
@Module({})
export class LifecycleModule {
  static forRoot(options: LifecycleModuleOptions = {}): DynamicModule {
    return {
      module: LifecycleModule,
      imports: [WorkerRedisModule],
      providers: [
        { provide: LIFECYCLE_SETTINGS, useValue: { ...LIFECYCLE_DEFAULTS, ...options.settings } },
        LifecycleService,
        LifecyclePoller,
        CancelService,
        CancelProcessor,
      ],
    };
  }
}
