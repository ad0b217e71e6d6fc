import { Global, Module } from '@nestjs/common';
import { AuthThrottleService } from './auth-throttle.service';

/** Global and in every role: the admin login is served (and guarded) by workers too. */
@Global()
@Module({ providers: [AuthThrottleService], exports: [AuthThrottleService] })
export class AuthThrottleModule {}
