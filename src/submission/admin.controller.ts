import { Controller, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminBasicGuard } from './admin-basic.guard';
import { type RedriveAccepted, SubmissionAdminService } from './submission-admin.service';

@ApiTags('admin')
@ApiBasicAuth()
@Controller('admin/requests')
@UseGuards(AdminBasicGuard)
export class AdminController {
  constructor(@Inject(SubmissionAdminService) private readonly admin: SubmissionAdminService) {}

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
