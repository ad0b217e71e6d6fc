import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** Documentation-only classes for the OpenAPI document at /docs. */
export class AcceptedResponseDto {
  @ApiProperty({ example: '0b6c5a8e-1d2f-4c3b-9a7e-5f4d3c2b1a09' }) trackingId!: string;
  @ApiProperty({ enum: ['QUEUED'] }) state!: 'QUEUED';
  @ApiProperty({ example: '/v3/access-requests/0b6c5a8e-1d2f-4c3b-9a7e-5f4d3c2b1a09' }) statusUrl!: string;
}

export class ErrorMessageDtoDoc {
  @ApiProperty({ example: 'en-US' }) locale!: string;
  @ApiProperty({ enum: ['DEFAULT', 'REQUEST'], nullable: true }) localeOrigin!: string | null;
  @ApiProperty({ example: 'requestedItems[0].comment is required for REVOKE_ACCESS' }) text!: string;
}

export class ErrorResponseDtoDoc {
  @ApiProperty({ example: '400.1 Bad Request Content' }) detailCode!: string;
  @ApiProperty({ description: 'Request id; quote it when asking for help' }) trackingId!: string;
  @ApiProperty({ type: [ErrorMessageDtoDoc] }) messages!: ErrorMessageDtoDoc[];
  @ApiProperty({ type: [ErrorMessageDtoDoc] }) causes!: ErrorMessageDtoDoc[];
}

export class CancelRequestDto {
  @ApiProperty({ minLength: 1, maxLength: 255, example: 'No longer needed: the project was stopped' })
  comment!: string;
}

export class PairCancelDto {
  @ApiProperty({
    enum: ['PENDING', 'SENT', 'REFUSED'],
    description:
      'PENDING: asked, not yet carried out (the pair is in flight, or the cancel waits for the IdentityNow budget); ' +
      'SENT: IdentityNow took the cancel (identityNowState follows); REFUSED: not cancelled, see reason',
  })
  state!: string;
  @ApiPropertyOptional({
    example:
      'IdentityNow refused the cancel: IdentityNow 400. IdentityNow said: … can no longer be cancelled',
  })
  reason?: string;
}

export class PairStatusDto {
  @ApiProperty() requestedFor!: string;
  @ApiProperty({ enum: ['ACCESS_PROFILE', 'ROLE', 'ENTITLEMENT'] }) type!: string;
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['GRANT_ACCESS', 'REVOKE_ACCESS', 'MODIFY_ACCESS'] }) requestType!: string;
  @ApiProperty({
    enum: ['PENDING', 'SUBMITTED', 'DUPLICATE', 'FAILED', 'CANCELLED'],
    description: 'CANCELLED: cancelled before it was sent to IdentityNow (never sent)',
  })
  outcome!: string;
  @ApiPropertyOptional({ type: [String] }) accessRequestIds?: string[];
  @ApiPropertyOptional({ description: 'Tracking id holding the claim, or "identitynow"' })
  duplicateOf?: string;
  @ApiPropertyOptional({
    enum: ['PENDING', 'SUBMITTED', 'FAILED'],
    description:
      'What the holder achieved for the same pair. FAILED: ask again and it is submitted (the holder failed, was ' +
      'cancelled, or ended in IdentityNow without the access, e.g. REJECTED)',
  })
  holderOutcome?: string;
  @ApiPropertyOptional({ example: 'IdentityNow 400: …' }) reason?: string;
  @ApiPropertyOptional({
    enum: [
      'EXECUTING',
      'PROVISIONING_VERIFICATION_PENDING',
      'REQUEST_COMPLETED',
      'CANCELLED',
      'TERMINATED',
      'REJECTED',
      'PROVISIONING_FAILED',
      'NOT_ALL_ITEMS_PROVISIONED',
      'ERROR',
    ],
    description: 'The latest state IdentityNow reported for a submitted pair; absent until first seen',
  })
  identityNowState?: string;
  @ApiPropertyOptional({ type: PairCancelDto, description: 'Present once a cancel was asked for this pair' })
  cancel?: PairCancelDto;
}

export class RequestStatusDto {
  @ApiProperty() trackingId!: string;
  @ApiProperty({ example: 'hr-portal' }) clientId!: string;
  @ApiProperty({
    enum: ['QUEUED', 'PROCESSING', 'SUBMITTED', 'PARTIALLY_SUBMITTED', 'DUPLICATE', 'FAILED', 'CANCELLED'],
    description:
      'A CANCELLED pair counts as FAILED, except that a request whose pairs are all CANCELLED or DUPLICATE ' +
      '(at least one CANCELLED) is CANCELLED',
  })
  state!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Set once no pair can change any more, or when following ended after LIFECYCLE_MAX_DAYS',
  })
  closedAt?: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: [PairStatusDto] }) pairs!: PairStatusDto[];
}
