// The request every benchmark target receives: a realistic IdentityNow v3 AccessRequest (~600 bytes,
// two identities x two items, comments, dates, clientMetadata), valid for the gateway's rules.

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** Dates are relative to the start of the run so `removeDate must be in the future` always holds. */
export function accessRequestBody(nowMs = Date.now()) {
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    requestedFor: ['2c918084660f45d6016617daa9210584', '2c918084660f45d6016617daa9210585'],
    requestType: 'GRANT_ACCESS',
    requestedItems: [
      {
        type: 'ROLE',
        id: '2c9180835d2e5168015d32f890ca1581',
        comment: 'Needed for the Q3 SOX audit of the payments platform',
        removeDate: iso(nowMs + YEAR_MS),
        clientMetadata: { ticket: 'CHG-104233', approver: 'jane.doe@example.com' },
      },
      {
        type: 'ACCESS_PROFILE',
        id: '2c9180835d2e5168015d32f890ca1599',
        comment: 'Read access to the finance data mart',
        startDate: iso(nowMs + 3600_000),
        removeDate: iso(nowMs + YEAR_MS / 2),
      },
    ],
    clientMetadata: { requestedBy: 'hr-portal', correlationId: '7f2c9e1a-5b3d-4c8e-9f6a-2d1b0c3e4f5a' },
  };
}
