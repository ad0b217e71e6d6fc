import { Body, Controller, Get, HttpCode, Headers, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientAuthGuard, CurrentClient } from '../auth/auth.guard';
import type { GatewayClient } from '../clients/gateway-client';
import type { RequestRecord } from '../access-request/request-record';
import { AccessRequestsService } from './access-requests.service';
import { RequestCancelService } from './request-cancel.service';
import { AccessRequestDto } from '../access-request/dto/access-request.dto';
import {
  AcceptedResponseDto,
  CancelRequestDto,
  ErrorResponseDtoDoc,
  RequestStatusDto,
} from './dto/responses.dto';

@ApiTags('access-requests')
@ApiBearerAuth()
@UseGuards(ClientAuthGuard)
@Controller('v3/access-requests')
export class AccessRequestsController {
  constructor(
    private readonly service: AccessRequestsService,
    private readonly cancels: RequestCancelService,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Submit an access request (IdentityNow v3 AccessRequest body)',
    description:
      'Validated against every IdentityNow rule, queued durably, answered at once. Submission to IdentityNow, ' +
      'de-duplication and retries happen in the background; follow statusUrl.',
  })
  @ApiBody({ type: AccessRequestDto })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Same key + same body within 24 h returns the first answer',
  })
  @ApiResponse({ status: 202, type: AcceptedResponseDto })
  @ApiResponse({
    status: 400,
    type: ErrorResponseDtoDoc,
    description: 'A rule is broken; messages[] names each field and rule',
  })
  @ApiResponse({ status: 401, type: ErrorResponseDtoDoc })
  @ApiResponse({ status: 403, type: ErrorResponseDtoDoc, description: 'Not allowed by the client policy' })
  @ApiResponse({
    status: 409,
    type: ErrorResponseDtoDoc,
    description: 'Same Idempotency-Key still in progress',
  })
  @ApiResponse({ status: 413, type: ErrorResponseDtoDoc })
  @ApiResponse({ status: 415, type: ErrorResponseDtoDoc })
  @ApiResponse({
    status: 422,
    type: ErrorResponseDtoDoc,
    description: 'Idempotency-Key reused with another body',
  })
  @ApiResponse({
    status: 429,
    type: ErrorResponseDtoDoc,
    description: 'Client quota exceeded; see Retry-After',
  })
  @ApiResponse({
    status: 503,
    type: ErrorResponseDtoDoc,
    description: 'Queue unavailable; nothing accepted; see Retry-After',
  })
  // Served by accept.route.ts, which takes this route's place at registration (app.factory.ts): this
  // method carries the contract (OpenAPI, DTOs) and is the same call through Nest's plumbing.
  async create(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentClient() client: GatewayClient,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Headers('traceparent') traceparent: string | undefined,
  ): Promise<unknown> {
    const result = await this.service.accept({
      client,
      body: request.body,
      contentType: request.headers['content-type'],
      idempotencyKey,
      requestId: request.id,
      traceparent,
    });
    void reply.status(result.status);
    const accepted = result.body as { statusUrl?: unknown };
    if (typeof accepted.statusUrl === 'string') void reply.header('location', accepted.statusUrl);
    if (result.replayed) void reply.header('idempotent-replayed', 'true');
    return result.body;
  }

  @Get(':trackingId')
  @ApiOperation({ summary: 'Status of one of your requests, with the outcome of each identity-item pair' })
  @ApiResponse({ status: 200, type: RequestStatusDto })
  @ApiResponse({
    status: 404,
    type: ErrorResponseDtoDoc,
    description: 'Unknown, expired, or another client’s request',
  })
  async status(
    @CurrentClient() client: GatewayClient,
    @Param('trackingId') trackingId: string,
  ): Promise<RequestRecord> {
    return this.service.status(client, trackingId);
  }

  @Post(':trackingId/cancel')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Cancel one of your requests',
    description:
      'Pairs not sent yet end CANCELLED at once and are never sent (their claims are released). Submitted pairs ' +
      'that IdentityNow has not finished are cancelled there (POST /v3/access-requests/cancel) in the background; ' +
      'their identityNowState follows, and pair.cancel says whether IdentityNow took the cancel. A pair whose ' +
      'IdentityNow request also carries another request’s access is not cancelled (pair.cancel says so).',
  })
  @ApiBody({ type: CancelRequestDto })
  @ApiResponse({ status: 202, type: RequestStatusDto, description: 'The status body after the cancel' })
  @ApiResponse({
    status: 400,
    type: ErrorResponseDtoDoc,
    description: 'comment missing, blank or over 255 characters',
  })
  @ApiResponse({ status: 401, type: ErrorResponseDtoDoc })
  @ApiResponse({
    status: 404,
    type: ErrorResponseDtoDoc,
    description: 'Unknown, expired, or another client’s request',
  })
  @ApiResponse({ status: 409, type: ErrorResponseDtoDoc, description: 'Nothing left to cancel' })
  @ApiResponse({ status: 503, type: ErrorResponseDtoDoc, description: 'Redis unavailable; see Retry-After' })
  async cancel(
    @CurrentClient() client: GatewayClient,
    @Param('trackingId') trackingId: string,
    @Body() body: unknown,
  ): Promise<RequestRecord> {
    return this.cancels.cancel(client, trackingId, body);
  }
}
