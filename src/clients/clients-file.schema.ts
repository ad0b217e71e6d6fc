import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  ITEM_TYPES,
  REQUEST_TYPES,
  type ItemType,
  type RequestType,
} from '../access-request/access-request.types';

export class ClientEntry {
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, {
    message: 'id must be 1-64 characters of letters, digits, ".", "_" or "-"',
  })
  id!: string;

  @IsString()
  @Matches(/^[0-9a-f]{64}$/i, {
    message: 'secretSha256 must be the hex sha256 of the secret (64 hex characters)',
  })
  secretSha256!: string;

  @IsOptional()
  @IsArray()
  @IsIn(REQUEST_TYPES, { each: true })
  requestTypes?: RequestType[];

  @IsOptional()
  @IsArray()
  @IsIn(ITEM_TYPES, { each: true })
  itemTypes?: ItemType[];

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  requestsPerMinute?: number;
}

export class ClientsFile {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => ClientEntry)
  clients!: ClientEntry[];
}
