export {
  createSimulator,
  errorResponse,
  parseScripted,
  DEFAULT_SIM_CLIENTS,
  DEFAULT_RATE_LIMIT,
  DEFAULT_PROGRESSION,
  DEFAULT_TOKEN_TTL_SECONDS,
  type RunningSimulator,
  type SimulatorControl,
} from './simulator.server';
export type { RecordsFilter } from './simulator-store';
export * from './simulator.types';
export { simulatorOptionsFromConfig } from './simulator-options';
export {
  OpenApiValidator,
  openApiToJsonSchema,
  describeSchemaErrors,
  type OpenApiDocument,
} from './openapi-schema';
