import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { DestinationStream } from 'pino';
import { type DynamicModule, Logger, type LoggerService, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule, type AppModuleOptions } from './app.module';
import { registerMultipartFormParser } from './common/multipart-form.parser';
import { HttpExceptionFilter } from './common/http-exception.filter';
import type { AppConfig } from './config/app-config';
import { installAdminGuard } from './admin/admin-auth';
import { installAcceptRoute } from './api/accept.route';
import { AccessRequestsService } from './api/access-requests.service';
import { ClientAuthGuard } from './auth/auth.guard';
import { ClientRegistry } from './clients/client-registry.service';
import { AuthThrottleModule } from './auth/auth-throttle.module';
import { AuthThrottleService } from './auth/auth-throttle.service';
import { installHttpObservability } from './ops/http-observability';
import { addLogSecrets, createLogger, NestPinoLogger, type PinoLogger } from './ops/logger';
import { MetricsService } from './ops/metrics.service';
import { OpsModule } from './ops/ops.module';

export interface GatewayOptions extends AppModuleOptions {
  /** Nest's framework logger; default: the pino logger below, through NestPinoLogger. */
  readonly logger?: LoggerService | false;
  /** The process's pino logger; default: `createLogger(config)` (JSON on stdout, LOG_LEVEL). */
  readonly pino?: PinoLogger;
  /** Where the default pino logger writes (tests capture lines here). */
  readonly logDestination?: DestinationStream;
  /** Extra providers/modules tests or main may add (kept generic on purpose). */
  readonly modules?: readonly (Type | DynamicModule)[];
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Builds the Nest application for a given configuration (main.ts and tests share this). */
export async function createGateway(
  config: AppConfig,
  options: GatewayOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // Which hops may name the caller in X-Forwarded-For: the address failed logins are counted against.
    trustProxy: config.auth.trustProxy,
    // Keep a caller's request id if it sends a sane one, so logs line up across services.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const log = options.pino ?? createLogger(config, { destination: options.logDestination });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, {
      ...options,
      extraModules: [
        OpsModule.forRoot(log),
        AuthThrottleModule,
        ...(options.extraModules ?? []),
        ...(options.modules ?? []),
      ],
    }),
    adapter,
    { logger: options.logger ?? new NestPinoLogger(log), abortOnError: false },
  );
  addLogSecrets(log, app.get(ClientRegistry, { strict: false }).webhookSecrets());
  // Every error, Fastify's own body-parser errors included (Nest wraps them), goes through this filter.
  app.useGlobalFilters(new HttpExceptionFilter(config.http.bodyLimitBytes));
  const fastify = app.getHttpAdapter().getInstance();
  // Nest's default JSON parser is this same Fastify parser, but built anew for every request body.
  const json = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<Server>(
    'application/json',
    { bodyLimit: config.http.bodyLimitBytes },
    (request, body, done) => {
      void json(request, body.toString('utf8'), done);
    },
  );
  registerMultipartFormParser(fastify);
  // Before init: the dashboard plugin is registered during init and must inherit the guard.
  installAdminGuard(fastify, config, app.get(AuthThrottleService));
  installHttpObservability(fastify, {
    logger: log,
    metrics: app.get(MetricsService),
    acceptedLevel: config.acceptedLogLevel,
  });
  // Callback style, not async: this runs on every response, and an async hook costs a promise each time.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });

  if (config.role !== 'worker') {
    // Before init, which registers the controllers' routes: the hot route's handler is swapped there.
    installAcceptRoute(fastify, {
      guard: app.get(ClientAuthGuard),
      service: app.get(AccessRequestsService),
      bodyLimitBytes: config.http.bodyLimitBytes,
      logger: new Logger('HttpExceptionFilter'),
    });
    const doc = new DocumentBuilder()
      .setTitle('access-request-gateway')
      .setDescription(
        'Validates, de-duplicates, throttles and durably submits SailPoint IdentityNow access requests. ' +
          'POST /v3/access-requests takes the same body as IdentityNow v3.',
      )
      .setVersion('1')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        description: 'client secret, or a token from POST /oauth/token',
      })
      .build();
    SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), {
      jsonDocumentUrl: 'docs-json',
    });
  }
  return app;
}
