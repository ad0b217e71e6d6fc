import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, ValidateIf, ValidateNested } from 'class-validator';
import {
  ITEM_TYPES,
  REQUEST_TYPES,
  type ItemType,
  type Metadata,
  type RequestType,
} from '../access-request.types';
import { MAX_ACCOUNT_REFS, MAX_IDENTITIES, MAX_ITEMS, MAX_TEXT_LENGTH } from '../access-request.limits';
import { IsClientMetadata, IsIsoDateTimeWithOffset, IsNonBlankString } from './validators';

/** Absent is fine, null is refused (IdentityNow's schema has no null here; IsOptional would pass it). */
const IfPresent = (): PropertyDecorator => ValidateIf((_o: object, value: unknown) => value !== undefined);

const itemTypeMessage = `$property must be one of ${ITEM_TYPES.join(', ')}`;
const nullable = (o: object, key: string): boolean =>
  (o as Record<string, unknown>)[key] !== null && (o as Record<string, unknown>)[key] !== undefined;

export class AccessRequestItemDto {
  @ApiProperty({ enum: ITEM_TYPES, example: 'ACCESS_PROFILE' })
  @IsIn(ITEM_TYPES, { message: itemTypeMessage })
  type!: ItemType;

  @ApiProperty({
    example: '2c9180835d2e5168015d32f890ca1581',
    description: 'ID of the role, access profile or entitlement',
  })
  @IsNonBlankString()
  id!: string;

  @ApiPropertyOptional({ example: 'Needed for the Q3 audit', description: 'Required for REVOKE_ACCESS' })
  @IfPresent()
  @IsNonBlankString({ maxLength: MAX_TEXT_LENGTH })
  comment?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { ticket: 'CHG-1234' },
  })
  @IfPresent()
  @IsClientMetadata()
  clientMetadata?: Metadata;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2030-01-01T09:00:00Z',
    description: 'Not allowed for REVOKE_ACCESS; a past date means "as soon as possible"',
  })
  @IfPresent()
  @IsIsoDateTimeWithOffset()
  startDate?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2030-06-30T17:00:00Z',
    description: 'Must be in the future',
  })
  @IfPresent()
  @IsIsoDateTimeWithOffset()
  removeDate?: string;

  @ApiPropertyOptional({ nullable: true, description: 'Revoke one specific role assignment' })
  @ValidateIf((o: object) => nullable(o, 'assignmentId'))
  @IsNonBlankString()
  assignmentId?: string | null;

  @ApiPropertyOptional({ nullable: true, description: 'Revoke an entitlement on one specific account' })
  @ValidateIf((o: object) => nullable(o, 'nativeIdentity'))
  @IsNonBlankString()
  nativeIdentity?: string | null;
}

export class AccountItemRefDto {
  @ApiPropertyOptional({ nullable: true })
  @ValidateIf((o: object) => nullable(o, 'accountUuid'))
  @IsNonBlankString()
  accountUuid?: string | null;

  @ApiProperty()
  @IsNonBlankString()
  nativeIdentity!: string;
}

export class SourceItemRefDto {
  @ApiPropertyOptional({ nullable: true })
  @ValidateIf((o: object) => nullable(o, 'sourceId'))
  @IsNonBlankString()
  sourceId?: string | null;

  @ApiPropertyOptional({ type: [AccountItemRefDto], nullable: true })
  @ValidateIf((o: object) => nullable(o, 'accounts'))
  @IsArray()
  @ArrayMaxSize(MAX_ACCOUNT_REFS)
  @ValidateNested({ each: true })
  @Type(() => AccountItemRefDto)
  accounts?: AccountItemRefDto[] | null;
}

export class RequestedItemDtoRefDto {
  @ApiProperty({ enum: ITEM_TYPES, example: 'ROLE' })
  @IsIn(ITEM_TYPES, { message: itemTypeMessage })
  type!: ItemType;

  @ApiProperty({ example: '2c9180835d2e5168015d32f890ca1581' })
  @IsNonBlankString()
  id!: string;

  @ApiPropertyOptional()
  @IfPresent()
  @IsNonBlankString({ maxLength: MAX_TEXT_LENGTH })
  comment?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IfPresent()
  @IsClientMetadata()
  clientMetadata?: Metadata;

  @ApiPropertyOptional({ format: 'date-time' })
  @IfPresent()
  @IsIsoDateTimeWithOffset()
  startDate?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IfPresent()
  @IsIsoDateTimeWithOffset()
  removeDate?: string;

  @ApiPropertyOptional({ type: [SourceItemRefDto], nullable: true })
  @ValidateIf((o: object) => nullable(o, 'accountSelection'))
  @IsArray()
  @ArrayMaxSize(MAX_ACCOUNT_REFS)
  @ValidateNested({ each: true })
  @Type(() => SourceItemRefDto)
  accountSelection?: SourceItemRefDto[] | null;
}

export class RequestedForDtoRefDto {
  @ApiProperty({ example: '2c918084660f45d6016617daa9210584' })
  @IsNonBlankString()
  identityId!: string;

  @ApiProperty({ type: [RequestedItemDtoRefDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ITEMS)
  @ValidateNested({ each: true })
  @Type(() => RequestedItemDtoRefDto)
  requestedItems!: RequestedItemDtoRefDto[];
}

export class AccessRequestDto {
  @ApiPropertyOptional({
    type: [String],
    example: ['2c918084660f45d6016617daa9210584'],
    description: 'Identity ids. Required unless requestedForWithRequestedItems is used.',
  })
  @ValidateIf((o: object) => nullable(o, 'requestedFor'))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IDENTITIES)
  @IsNonBlankString({ each: true })
  requestedFor?: string[];

  @ApiPropertyOptional({ enum: REQUEST_TYPES, nullable: true, default: 'GRANT_ACCESS' })
  @ValidateIf((o: object) => nullable(o, 'requestType'))
  @IsIn(REQUEST_TYPES, { message: `$property must be one of ${REQUEST_TYPES.join(', ')}` })
  requestType?: RequestType | null;

  @ApiPropertyOptional({
    type: [AccessRequestItemDto],
    description: 'Required unless requestedForWithRequestedItems is used.',
  })
  @ValidateIf((o: object) => nullable(o, 'requestedItems'))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ITEMS)
  @ValidateNested({ each: true })
  @Type(() => AccessRequestItemDto)
  requestedItems?: AccessRequestItemDto[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { requestedBy: 'hr-portal' },
  })
  @IfPresent()
  @IsClientMetadata()
  clientMetadata?: Metadata;

  @ApiPropertyOptional({
    type: [RequestedForDtoRefDto],
    nullable: true,
    description: 'GRANT_ACCESS only; then omit requestedFor and requestedItems.',
  })
  @ValidateIf((o: object) => nullable(o, 'requestedForWithRequestedItems'))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IDENTITIES)
  @ValidateNested({ each: true })
  @Type(() => RequestedForDtoRefDto)
  requestedForWithRequestedItems?: RequestedForDtoRefDto[] | null;
}
