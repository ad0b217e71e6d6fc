import { future } from './time';

export const ID1 = '2c918084660f45d6016617daa9210584';
export const ID2 = '2c918084660f45d6016617daa9210585';
export const ROLE1 = '2c9180835d2e5168015d32f890ca1581';
export const ENT1 = '2c9180835d2e5168015d32f890ca1591';

export const entitlements = (n: number): { type: 'ENTITLEMENT'; id: string }[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'ENTITLEMENT', id: `ent-${i}` }));
export const identities = (n: number): string[] => Array.from({ length: n }, (_, i) => `identity-${i}`);

export const grant = (): Record<string, unknown> => ({
  requestedFor: [ID1],
  requestType: 'GRANT_ACCESS',
  requestedItems: [{ type: 'ROLE', id: ROLE1, comment: 'onboarding', removeDate: future(60) }],
  clientMetadata: { ticket: 'CHG-1' },
});

export const revoke = (): Record<string, unknown> => ({
  requestedFor: [ID1],
  requestType: 'REVOKE_ACCESS',
  requestedItems: [{ type: 'ENTITLEMENT', id: ENT1, comment: 'leaver' }],
});

export const modify = (): Record<string, unknown> => ({
  requestedFor: [ID1],
  requestType: 'MODIFY_ACCESS',
  requestedItems: [{ type: 'ACCESS_PROFILE', id: 'ap-1', comment: 'extend', removeDate: future(90) }],
});

export const perIdentity = (): Record<string, unknown> => ({
  requestType: 'GRANT_ACCESS',
  requestedForWithRequestedItems: [
    {
      identityId: ID1,
      requestedItems: [
        {
          type: 'ENTITLEMENT',
          id: ENT1,
          comment: 'db access',
          startDate: future(1),
          removeDate: future(30),
          accountSelection: [
            { sourceId: 'src-1', accounts: [{ accountUuid: null, nativeIdentity: 'CN=alice' }] },
          ],
        },
      ],
    },
    { identityId: ID2, requestedItems: [{ type: 'ROLE', id: ROLE1 }] },
  ],
});

/** GRANT_ACCESS of ROLE items (plain ids) to each identity. */
export const roleGrant = (
  identityIds: string[],
  roleIds: string[],
): {
  requestType: 'GRANT_ACCESS';
  requestedFor: string[];
  requestedItems: { type: 'ROLE'; id: string }[];
} => ({
  requestType: 'GRANT_ACCESS',
  requestedFor: identityIds,
  requestedItems: roleIds.map((id) => ({ type: 'ROLE', id })),
});
