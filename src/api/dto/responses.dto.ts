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

export class PairStatusDto {
  @ApiProperty() requestedFor!: string;
  @ApiProperty({ enum: ['ACCESS_PROFILE', 'ROLE', 'ENTITLEMENT'] }) type!: string;
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['GRANT_ACCESS', 'REVOKE_ACCESS', 'MODIFY_ACCESS'] }) requestType!: string;
  @ApiProperty({ enum: ['PENDING', 'SUBMITTED', 'DUPLICATE', 'FAILED'] }) outcome!: string;
  @ApiPropertyOptional({ type: [String] }) accessRequestIds?: string[];
  @ApiPropertyOptional({ description: 'Tracking id holding the claim, or "identitynow"' })
  duplicateOf?: string;
  @ApiPropertyOptional({ enum: ['PENDING', 'SUBMITTED', 'FAILED'] }) holderOutcome?: string;
  @ApiPropertyOptional({ example: 'IdentityNow 400: …' }) reason?: string;
}

export class RequestStatusDto {
  @ApiProperty() trackingId!: string;
  @ApiProperty({ example: 'hr-portal' }) clientId!: string;
  @ApiProperty({ enum: ['QUEUED', 'PROCESSING', 'SUBMITTED', 'PARTIALLY_SUBMITTED', 'DUPLICATE', 'FAILED'] })
  state!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: [PairStatusDto] }) pairs!: PairStatusDto[];
}
