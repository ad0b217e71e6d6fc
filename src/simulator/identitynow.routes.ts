import type { FastifyInstance } from 'fastify';
import { checkAccessRequest, checkCancelRequest } from './access-request.rules';
import { errorResponse, userContextRequired } from './simulator.errors';
import type { CallHandler } from './simulator.pipeline';
import type { SimStore } from './simulator-store';
import type { SimFaults } from './simulator-faults';
import type { SimTokenStore } from './simulator-tokens';
import { asRecord, firstString } from './request-values';
import { parseIntParam, QueryError } from './status-query';

export interface IdentityNowRouteParts {
  readonly handle: CallHandler;
  readonly tokens: SimTokenStore;
  readonly store: SimStore;
  readonly reportExisting: boolean;
  readonly faults: SimFaults;
}

/** The IdentityNow API the gateway calls: token, submit, status and cancel. */
export function registerIdentityNowRoutes(
  app: FastifyInstance,
  { handle, tokens, store, reportExisting, faults }: IdentityNowRouteParts,
): void {
  app.post('/oauth/token', (req, reply) =>
    handle(req, reply, 'token', ({ now, rec }) => {
      const body = asRecord(req.body);
      const query = asRecord(req.query);
      const pick = (k: string): string | undefined => firstString(body[k]) ?? firstString(query[k]);
      let clientId = pick('client_id');
      let clientSecret = pick('client_secret');
      const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (basic !== null && clientId === undefined) {
        const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) {
          clientId = decodeURIComponent(decoded.slice(0, colon));
          clientSecret = decodeURIComponent(decoded.slice(colon + 1));
        }
      }
      const grantType = pick('grant_type');
      if (grantType !== 'client_credentials') {
        return {
          status: 400,
          body: {
            error: 'unsupported_grant_type',
            error_description: `grant_type must be client_credentials (got ${grantType ?? 'none'})`,
          },
        };
      }
      rec.clientId = clientId ?? null;
      const client =
        clientId === undefined || clientSecret === undefined
          ? undefined
          : tokens.findClient(clientId, clientSecret);
      if (client === undefined) {
        return {
          status: 401,
          body: { error: 'invalid_client', error_description: 'Bad client credentials' },
        };
      }
      return { status: 200, body: tokens.issue(client, now).body };
    }),
  );

  app.post('/v3/access-requests', (req, reply) =>
    handle(req, reply, 'submit', ({ auth, responseLost, now, rec, statusLagMs }) => {
      if (auth === null || auth.identityId === null) return userContextRequired();
      const result = checkAccessRequest(req.body, auth.identityId, now);
      if (!result.ok) return { status: 400, body: errorResponse(400, result.messages) };
      const unknown = faults.unknownItemIn(req.body);
      if (unknown !== undefined) {
        return { status: 400, body: errorResponse(400, [`The access item ${unknown} does not exist`]) };
      }
      const out = store.submit(
        result.request,
        {
          clientId: auth.client.clientId,
          requesterId: auth.identityId,
          requesterName: auth.client.identityName ?? `sim-user-${auth.client.clientId}`,
          now,
          responseLost,
          callSeq: rec.seq,
          statusLagMs,
        },
        reportExisting,
      );
      return { status: 202, body: out };
    }),
  );

  app.get('/v3/access-request-status', (req, reply) =>
    handle(req, reply, 'status', ({ auth, now }) => {
      if (auth === null || auth.identityId === null) return userContextRequired();
      const self = auth.identityId;
      const query = asRecord(req.query);
      const me = (v: string | undefined): string | undefined => (v === 'me' ? self : v);
      const requestedFor = me(firstString(query['requested-for']));
      const requestedBy = me(firstString(query['requested-by']));
      const regardingIdentity = me(firstString(query['regarding-identity']));
      const requestState = firstString(query['request-state']);
      try {
        const headers: Record<string, string> = {};
        if (regardingIdentity !== undefined && (requestedFor !== undefined || requestedBy !== undefined)) {
          throw new QueryError(
            'regarding-identity is mutually exclusive with requested-for and requested-by',
          );
        }
        if (requestState !== undefined && requestState !== 'EXECUTING') {
          throw new QueryError('request-state: the only valid value is EXECUTING');
        }
        const countRaw = firstString(query.count);
        if (countRaw !== undefined && countRaw !== 'true' && countRaw !== 'false') {
          throw new QueryError('count must be true or false');
        }
        const { total, entries } = store.listStatus(
          {
            requestedFor,
            requestedBy,
            regardingIdentity,
            requestState,
            filters: firstString(query.filters),
            sorters: firstString(query.sorters),
            limit: parseIntParam('limit', firstString(query.limit), 250, 0, 250),
            offset: parseIntParam('offset', firstString(query.offset), 0, 0, 2_147_483_647),
          },
          now,
        );
        if (countRaw === 'true') headers['x-total-count'] = String(total);
        return { status: 200, body: entries, headers };
      } catch (e) {
        if (e instanceof QueryError) return { status: 400, body: errorResponse(400, [e.message]) };
        throw e;
      }
    }),
  );

  app.post('/v3/access-requests/cancel', (req, reply) =>
    handle(req, reply, 'cancel', ({ auth, now }) => {
      if (auth === null || auth.identityId === null) return userContextRequired();
      const problems = checkCancelRequest(req.body);
      if (problems.length > 0) return { status: 400, body: errorResponse(400, problems) };
      const body = req.body as { accountActivityId: string; comment: string };
      const outcome = store.cancel(body.accountActivityId, body.comment, now);
      if (outcome === 'not-found') {
        return {
          status: 404,
          body: errorResponse(404, [`access request ${body.accountActivityId} not found`]),
        };
      }
      if (outcome === 'not-cancelable') {
        return {
          status: 400,
          body: errorResponse(400, [`access request ${body.accountActivityId} can no longer be cancelled`]),
        };
      }
      return { status: 202, body: {} };
    }),
  );
}
