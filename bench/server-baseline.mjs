// Target (b), what a team would write instead of using the gateway: Fastify, a static bearer secret,
// the main IdentityNow rules checked by hand, and BullMQ's queue.add; 202 once the job is in Redis.
// Deliberately plain: no idempotency, no quota, no policy, no metadata stamping.
import { Buffer } from 'node:buffer';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { Queue } from 'bullmq';
import Fastify from 'fastify';

const port = Number(process.env.PORT);
const redisUrl = new URL(process.env.REDIS_URL);
const secret = Buffer.from(`Bearer ${process.env.BENCH_SECRET}`);

const REQUEST_TYPES = new Set(['GRANT_ACCESS', 'REVOKE_ACCESS', 'MODIFY_ACCESS']);
const ITEM_TYPES = new Set(['ACCESS_PROFILE', 'ROLE', 'ENTITLEMENT']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

const nonEmpty = (v, max = 255) => typeof v === 'string' && v.trim() !== '' && v.length <= max;

function validate(b, now) {
  const errors = [];
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return ['body must be an object'];
  const type = b.requestType ?? 'GRANT_ACCESS';
  if (!REQUEST_TYPES.has(type)) errors.push('requestType is invalid');
  if (!Array.isArray(b.requestedFor) || b.requestedFor.length === 0 || b.requestedFor.length > 1000)
    errors.push('requestedFor must be a non-empty array');
  else if (!b.requestedFor.every((id) => nonEmpty(id))) errors.push('requestedFor must contain ids');
  if (!Array.isArray(b.requestedItems) || b.requestedItems.length === 0 || b.requestedItems.length > 1000)
    return [...errors, 'requestedItems must be a non-empty array'];
  let entitlements = 0;
  b.requestedItems.forEach((item, i) => {
    if (typeof item !== 'object' || item === null)
      return errors.push(`requestedItems[${i}] must be an object`);
    if (!ITEM_TYPES.has(item.type)) errors.push(`requestedItems[${i}].type is invalid`);
    if (item.type === 'ENTITLEMENT') entitlements += 1;
    if (!nonEmpty(item.id)) errors.push(`requestedItems[${i}].id is required`);
    if (item.comment !== undefined && !nonEmpty(item.comment, 4000))
      errors.push(`requestedItems[${i}].comment is invalid`);
    for (const f of ['startDate', 'removeDate']) {
      if (
        item[f] !== undefined &&
        (typeof item[f] !== 'string' || !ISO.test(item[f]) || isNaN(Date.parse(item[f])))
      )
        errors.push(`requestedItems[${i}].${f} must be an ISO-8601 date-time`);
    }
    if (item.removeDate !== undefined && Date.parse(item.removeDate) <= now)
      errors.push(`requestedItems[${i}].removeDate must be in the future`);
    if (
      item.startDate !== undefined &&
      item.removeDate !== undefined &&
      Date.parse(item.removeDate) <= Date.parse(item.startDate)
    )
      errors.push(`requestedItems[${i}].removeDate must be after startDate`);
    if (type === 'REVOKE_ACCESS') {
      if (item.comment === undefined)
        errors.push(`requestedItems[${i}].comment is required for REVOKE_ACCESS`);
      if (item.startDate !== undefined)
        errors.push(`requestedItems[${i}].startDate is not allowed for REVOKE_ACCESS`);
    }
  });
  if (entitlements > 25) errors.push('at most 25 entitlements per request');
  if (entitlements > 0 && Array.isArray(b.requestedFor) && b.requestedFor.length > 10)
    errors.push('at most 10 identities when entitlements are requested');
  if (type === 'REVOKE_ACCESS' && Array.isArray(b.requestedFor) && b.requestedFor.length !== 1)
    errors.push('REVOKE_ACCESS takes exactly one identity');
  return errors;
}

const queue = new Queue('submissions', {
  connection: { host: redisUrl.hostname, port: Number(redisUrl.port), maxRetriesPerRequest: 1 },
});
const app = Fastify({ bodyLimit: 1_048_576 });

app.post('/v3/access-requests', async (req, reply) => {
  const auth = Buffer.from(req.headers.authorization ?? '');
  if (auth.length !== secret.length || !timingSafeEqual(auth, secret))
    return reply.code(401).send({ messages: ['unauthorized'] });
  const errors = validate(req.body, Date.now());
  if (errors.length > 0) return reply.code(400).send({ messages: errors });
  const trackingId = randomUUID();
  await queue.add('submit', req.body, {
    jobId: trackingId,
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 86_400 },
    removeOnFail: { age: 604_800 },
  });
  return reply
    .code(202)
    .send({ trackingId, state: 'QUEUED', statusUrl: `/v3/access-requests/${trackingId}` });
});

await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => queue.close())
    .then(() => process.exit(0));
});
