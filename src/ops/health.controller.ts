import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ReadinessService } from './readiness.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(@Inject(ReadinessService) private readonly readiness: ReadinessService) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs, whatever Redis does' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: Redis reachable with maxmemory-policy noeviction, not shutting down' })
  async ready(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: 'ready' | 'not-ready'; checks: Record<string, string> }> {
    const report = await this.readiness.check();
    void reply.status(report.ready ? 200 : 503);
    return { status: report.ready ? 'ready' : 'not-ready', checks: report.checks };
  }
}
