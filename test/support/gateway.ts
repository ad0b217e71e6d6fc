import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createGateway, type GatewayOptions } from '../../src/app.factory';
import { loadConfig, type AppConfig } from '../../src/config/app-config';

export interface TestGateway {
  readonly app: NestFastifyApplication;
  readonly config: AppConfig;
  /** For supertest: `request(gw.server)`. */
  readonly server: ReturnType<NestFastifyApplication['getHttpServer']>;
  close(): Promise<void>;
}

/** A gateway in this process, on a private Redis, configured only through `env`. */
export async function startGateway(
  env: Record<string, string | undefined>,
  options: GatewayOptions = {},
): Promise<TestGateway> {
  const config = loadConfig({ NODE_ENV: 'development', ROLE: 'api', LOG_LEVEL: 'silent', ...env });
  const app = await createGateway(config, { logger: false, ...options });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    config,
    server: app.getHttpServer(),
    close: () => app.close(),
  };
}

/** The `messages[].text` of an ErrorResponseDto body. */
export const texts = (body: unknown): string[] =>
  ((body as { messages?: { text: string }[] }).messages ?? []).map((m) => m.text);
