import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  ITEM_TYPES,
  REQUEST_TYPES,
  type ItemType,
  type RequestType,
} from '../access-request/access-request.types';

const isSha256Hex = (v: unknown): boolean => typeof v === 'string' && /^[0-9a-f]{64}$/i.test(v);

/** One value, or a list of two while it is rotated (both work until the old one is removed). */
const oneOrRotatingPair =
  (isOne: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    isOne(v) || (Array.isArray(v) && v.length >= 1 && v.length <= 2 && v.every(isOne));

// Standard Webhooks secrets: `whsec_` + canonical base64 of 24 bytes or more.
const WEBHOOK_SECRET = /^whsec_(?:[A-Za-z0-9+/]{4}){8,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const isWebhookSecret = (v: unknown): boolean => typeof v === 'string' && WEBHOOK_SECRET.test(v);

const WEBHOOK_SHAPE = 'webhook must be an object {"url": …, "secret": …}';

export class WebhookEntry {
  @IsUrl(
    { require_protocol: true, protocols: ['http', 'https'], require_tld: false },
    { message: 'url must be an http:// or https:// URL' },
  )
  url!: string;

  /** During a rotation each delivery carries a signature by each secret. */
  @ValidateBy({
    name: 'webhookSecret',
    validator: {
      validate: oneOrRotatingPair(isWebhookSecret),
      defaultMessage: () =>
        'secret must be "whsec_" followed by the base64 of at least 24 random bytes, or a list of two of them during a rotation',
    },
  })
  secret!: string | string[];
}

export class ClientEntry {
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, {
    message: 'id must be 1-64 characters of letters, digits, ".", "_" or "-"',
  })
  id!: string;

  /** A list of two while a secret is rotated: both work until the old one is removed. */
  @ValidateBy({
    name: 'secretSha256',
    validator: {
      validate: oneOrRotatingPair(isSha256Hex),
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

  /** This client's share of the IdentityNow budget when several wait (default 1). */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(1_000)
  budgetWeight?: number;

  // Not @IsOptional: that would let `"webhook": null` through.
  @ValidateIf((o: ClientEntry) => o.webhook !== undefined)
  @IsObject({ message: WEBHOOK_SHAPE })
  @ValidateNested({ message: WEBHOOK_SHAPE })
  @Type(() => WebhookEntry)
  webhook?: WebhookEntry;
}

export class ClientsFile {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => ClientEntry)
  clients!: ClientEntry[];
}
