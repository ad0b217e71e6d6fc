import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBasicAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { type PairLookup, PairLookupService } from './pair-lookup.service';

@ApiTags('admin')
@ApiBasicAuth()
@Controller('admin/pairs')
export class PairLookupController {
  constructor(@Inject(PairLookupService) private readonly pairs: PairLookupService) {}

  @Get()
  @ApiOperation({
    summary: 'Who holds an identity-item pair (why was a request a DUPLICATE?)',
    description:
      'For each request type (or the one given): the request holding the pair (tracking id, client), since when ' +
      '(accepted at), until when (the claim expiry), and its last known outcome and IdentityNow state; holder ' +
      'null when nothing holds it. Dates and assignmentId/nativeIdentity are part of a pair: give them when the ' +
      'request had them.',
  })
  @ApiQuery({ name: 'identity', required: true })
  @ApiQuery({ name: 'type', required: true, enum: ['ACCESS_PROFILE', 'ROLE', 'ENTITLEMENT'] })
  @ApiQuery({ name: 'id', required: true })
  @ApiQuery({
    name: 'requestType',
    required: false,
    enum: ['GRANT_ACCESS', 'REVOKE_ACCESS', 'MODIFY_ACCESS'],
  })
  @ApiQuery({ name: 'startDate', required: false })
  @ApiQuery({ name: 'removeDate', required: false })
  @ApiQuery({ name: 'assignmentId', required: false })
  @ApiQuery({ name: 'nativeIdentity', required: false })
  lookUp(@Query() query: Record<string, unknown>): Promise<{ pairs: PairLookup[] }> {
    return this.pairs.lookUp(query);
  }
}
