import { validateAccessRequest } from '../access-request/access-request.validator';
import { isTrackingId, type SubmissionJobData } from '../queue/submission-job';
import { InvalidJobError } from './submission.errors';

type Loose = Partial<Record<string, unknown>>;

const loose = (data: unknown): Loose => (typeof data === 'object' && data !== null ? data : {});

/** Re-validates job data read from Redis with the HTTP edge's validator, as of the acceptance time. */
export function parseJobData(data: unknown): SubmissionJobData {
  const d = loose(data);
  if (d.v !== 1) throw new InvalidJobError(`unsupported job data version ${String(d.v)}`);
  if (!isTrackingId(d.trackingId)) throw new InvalidJobError('job data has no valid trackingId');
  if (typeof d.clientId !== 'string' || d.clientId === '')
    throw new InvalidJobError('job data has no clientId');
  const acceptedAt = typeof d.acceptedAt === 'string' ? new Date(d.acceptedAt) : new Date(NaN);
  if (Number.isNaN(acceptedAt.getTime())) throw new InvalidJobError('job data has no valid acceptedAt');
  const checked = validateAccessRequest(d.request, { now: acceptedAt, allowGatewayMetadata: true });
  if (!checked.ok) throw new InvalidJobError(`job request is invalid: ${checked.messages.join('; ')}`);
  return {
    v: 1,
    trackingId: d.trackingId,
    clientId: d.clientId,
    acceptedAt: acceptedAt.toISOString(),
    request: checked.value,
    ...(typeof d.requestId === 'string' ? { requestId: d.requestId } : {}),
    ...(typeof d.traceparent === 'string' ? { traceparent: d.traceparent } : {}),
  };
}

/** Whose status an unusable job can still be recorded under: undefined when it names nobody. */
export function invalidJobOwner(
  data: unknown,
): { readonly trackingId: string; readonly clientId: string; readonly acceptedAt?: string } | undefined {
  const d = loose(data);
  if (!isTrackingId(d.trackingId) || typeof d.clientId !== 'string') return undefined;
  return {
    trackingId: d.trackingId,
    clientId: d.clientId,
    ...(typeof d.acceptedAt === 'string' ? { acceptedAt: d.acceptedAt } : {}),
  };
}
