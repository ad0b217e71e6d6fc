import type { SimulatorConfig } from '../config/simulator-config';
import { DEFAULT_SIM_CLIENTS } from './simulator.server';
import type { SimLogEvent, SimulatorOptions } from './simulator.types';

/** Without `standalone` (the embedded case) the simulator binds a free loopback port. */
export function simulatorOptionsFromConfig(
  config: { readonly simulator: SimulatorConfig },
  extra: { readonly standalone?: boolean; readonly logger?: (event: SimLogEvent) => void } = {},
): SimulatorOptions {
  const s = config.simulator;
  const apiClients = DEFAULT_SIM_CLIENTS.filter((c) => c.kind === 'api' && c.clientId !== s.clientId);
  return {
    host: extra.standalone === true ? s.host : '127.0.0.1',
    port: extra.standalone === true ? s.port : 0,
    clients: [{ clientId: s.clientId, clientSecret: s.clientSecret, kind: 'pat' }, ...apiClients],
    tokenFormat: s.tokenFormat,
    tokenTtlSeconds: s.tokenTtlSeconds,
    rateLimit: { max: s.rateLimitMax, windowMs: s.rateLimitWindowMs },
    progression: { completeAfterMs: s.completeAfterMs, rejectRate: s.rejectRate },
    faults: { latency: s.latency, errorRates: s.errorRates },
    controlApi: s.controlApi,
    ...(extra.logger === undefined ? {} : { logger: extra.logger }),
  };
}
