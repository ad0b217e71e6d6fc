export {
  createSimulator,
  DEFAULT_SIM_CLIENTS,
  DEFAULT_RATE_LIMIT,
  DEFAULT_PROGRESSION,
  DEFAULT_TOKEN_TTL_SECONDS,
} from './simulator.server';
export { errorResponse } from './simulator.errors';
export { parseScripted } from './control.parsing';
export * from './simulator.types';
export { simulatorOptionsFromConfig } from './simulator-options';
export {
  OpenApiValidator,
  openApiToJsonSchema,
  describeSchemaErrors,
  type OpenApiDocument,
} from './openapi-schema';
