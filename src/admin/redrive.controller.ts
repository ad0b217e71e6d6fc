import { Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBasicAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type RedriveAccepted, RedriveService } from './redrive.service';

@ApiTags('admin')
@ApiBasicAuth()
@Controller('admin/requests')
export class RedriveController {
  constructor(@Inject(RedriveService) private readonly admin: RedriveService) {}

  @Post(':trackingId/retry')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Re-drive a failed submission',
    description:
      'Puts a failed job back in the queue with fresh attempts. Its next attempt first reconciles every ' +
      'submission whose outcome was unknown, then submits only what IdentityNow does not have.',
  })
  retry(@Param('trackingId') trackingId: string): Promise<RedriveAccepted> {
    return this.admin.retry(trackingId);
  }
}
