import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import {
  ITEM_TYPES,
  REQUEST_TYPES,
  type ItemType,
  type RequestType,
} from '../access-request/access-request.types';

const isSha256Hex = (v: unknown): boolean => typeof v === 'string' && /^[0-9a-f]{64}$/i.test(v);

export class ClientEntry {
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, {
    message: 'id must be 1-64 characters of letters, digits, ".", "_" or "-"',
  })
  id!: string;

  /** A list of two while a secret is rotated: both work until the old one is removed. */
  @ValidateBy({
    name: 'secretSha256',
    validator: {
      validate: (v: unknown) =>
        isSha256Hex(v) || (Array.isArray(v) && v.length >= 1 && v.length <= 2 && v.every(isSha256Hex)),
      defaultMessage: () =>
        'secretSha256 must be the hex sha256 of the secret (64 hex characters), or a list of two of them during a rotation',
    },
  })
  secretSha256!: string | string[];

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

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  pairsPerMinute?: number;
}

export class ClientsFile {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => ClientEntry)
  clients!: ClientEntry[];
}
