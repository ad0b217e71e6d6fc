import type { AccessRequestBody } from '../access-request/access-request.types';
import type { GatewayClient } from '../clients/gateway-client';

/** What the client's `requestTypes` / `itemTypes` forbid in this request, one message each. */
export function policyViolations(client: GatewayClient, body: AccessRequestBody): string[] {
  const problems: string[] = [];
  if (client.requestTypes !== undefined && !client.requestTypes.has(body.requestType)) {
    problems.push(
      `client ${client.id} may not send ${body.requestType} requests (allowed: ${[...client.requestTypes].join(', ') || 'none'})`,
    );
  }
  if (client.itemTypes !== undefined) {
    const allowed = client.itemTypes;
    const items =
      body.requestedForWithRequestedItems !== undefined
        ? body.requestedForWithRequestedItems.flatMap((t, i) =>
            t.requestedItems.map((it, j) => ({
              path: `requestedForWithRequestedItems[${i}].requestedItems[${j}]`,
              type: it.type,
            })),
          )
        : body.requestedItems.map((it, i) => ({ path: `requestedItems[${i}]`, type: it.type }));
    for (const { path, type } of items) {
      if (!allowed.has(type)) {
        problems.push(
          `${path}.type ${type} is not allowed for client ${client.id} (allowed: ${[...allowed].join(', ') || 'none'})`,
        );
      }
    }
  }
  return problems;
}
