import { AccessRequestsApi, Configuration } from 'sailpoint-api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type RunningSimulator } from '../../src/simulator';

/** SailPoint's official TypeScript SDK works against the simulator unchanged (multipart token call). */
describe('simulator with the official SDK', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await createSimulator({ progression: { completeAfterMs: null } });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('gets a token, submits, and reads the status back with clientMetadata', async () => {
    const configuration = new Configuration({
      baseurl: sim.url,
      clientId: sim.credentials.clientId,
      clientSecret: sim.credentials.clientSecret,
      tokenUrl: `${sim.url}/oauth/token`,
    });
    const api = new AccessRequestsApi(configuration);
    const res = await api.createAccessRequest({
      accessRequest: {
        requestedFor: ['sdk-identity'],
        requestType: 'GRANT_ACCESS',
        requestedItems: [{ type: 'ROLE', id: 'sdk-role', comment: 'via SDK', clientMetadata: { k: 'v' } }],
      },
    });
    expect(res.status).toBe(202);
    const st = await api.listAccessRequestStatus({ requestedFor: 'sdk-identity' });
    expect(st.data).toHaveLength(1);
    expect(st.data[0]?.clientMetadata).toEqual({ k: 'v' });
    expect(sim.control.pairCount('GRANT_ACCESS|sdk-identity|ROLE|sdk-role')).toBe(1);
    const tokenCall = sim.control.records({ operation: 'token' }).calls[0];
    expect(tokenCall?.status).toBe(200);
  });
});
