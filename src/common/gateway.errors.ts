/**
 * Domain errors raised below the controller. They carry what went wrong and what to fix, never an
 * HTTP status: the edge (http-exception.filter.ts) maps each kind to a status.
 */
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

/** The resource is not in a state that allows the operation (e.g. re-driving a job that has not failed). */
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

/** Redis (the queue) cannot take the request right now; nothing was accepted. */
export class UnavailableError extends GatewayError {
  readonly kind = 'unavailable';
  constructor(
    messages: readonly string[],
    readonly retryAfterSeconds: number,
  ) {
    super(messages);
  }
}

/**
 * Redis did not confirm the enqueue in time: the job may still land. `settled` resolves to whether it
 * did, so an Idempotency-Key can end up answering with the real outcome.
 */
export class EnqueueUnconfirmedError extends UnavailableError {
  constructor(
    messages: readonly string[],
    retryAfterSeconds: number,
    readonly settled: Promise<boolean>,
  ) {
    super(messages, retryAfterSeconds);
  }
}
