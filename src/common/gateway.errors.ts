/** Domain errors: what went wrong and how to fix it, never an HTTP status (the filter maps them). */
export abstract class GatewayError extends Error {
  abstract readonly kind: GatewayErrorKind;
  constructor(readonly messages: readonly string[]) {
    super(messages.join('; '));
    this.name = new.target.name;
  }
}

export type GatewayErrorKind =
  | 'invalid-request'
  | 'unsupported-media-type'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'idempotency-in-progress'
  | 'idempotency-mismatch'
  | 'conflict'
  | 'quota-exceeded'
  | 'auth-throttled'
  | 'unavailable';

export class InvalidRequestError extends GatewayError {
  readonly kind = 'invalid-request';
}

export class UnsupportedMediaTypeError extends GatewayError {
  readonly kind = 'unsupported-media-type';
}

export class UnauthenticatedError extends GatewayError {
  readonly kind = 'unauthenticated';
  constructor(
    messages: readonly string[],
    /** The WWW-Authenticate challenge: clients use Bearer, the admin endpoints Basic. */
    readonly challenge: string = 'Bearer',
  ) {
    super(messages);
  }
}

export class ForbiddenError extends GatewayError {
  readonly kind = 'forbidden';
}

export class NotFoundError extends GatewayError {
  readonly kind = 'not-found';
}

export class IdempotencyInProgressError extends GatewayError {
  readonly kind = 'idempotency-in-progress';
}

export class ConflictError extends GatewayError {
  readonly kind = 'conflict';
}

export class IdempotencyMismatchError extends GatewayError {
  readonly kind = 'idempotency-mismatch';
}

export class QuotaExceededError extends GatewayError {
  readonly kind = 'quota-exceeded';
  constructor(
    messages: readonly string[],
    readonly retryAfterSeconds: number,
  ) {
    super(messages);
  }
}

/** Too many failed authentications from the caller's address; refused whatever it sends until then. */
export class AuthThrottledError extends GatewayError {
  readonly kind = 'auth-throttled';
  constructor(readonly retryAfterSeconds: number) {
    super([
      `too many failed authentications from this address; retry after ${retryAfterSeconds} s (Retry-After)`,
    ]);
  }
}

/** Nothing was accepted. */
export class UnavailableError extends GatewayError {
  readonly kind = 'unavailable';
  constructor(
    messages: readonly string[],
    readonly retryAfterSeconds: number,
  ) {
    super(messages);
  }
}

/** The enqueue was not confirmed in time and may still land; `settled` says whether it did. */
export class EnqueueUnconfirmedError extends UnavailableError {
  constructor(
    messages: readonly string[],
    retryAfterSeconds: number,
    readonly settled: Promise<boolean>,
  ) {
    super(messages, retryAfterSeconds);
  }
}
