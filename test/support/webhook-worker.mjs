// A built worker process that runs only webhook delivery (ROLE=worker, configured by its environment),
// for tests that kill it mid-delivery. Started through startGatewayProcess(env, WEBHOOK_WORKER).
import 'reflect-metadata';
import { createGateway } from '../../dist/app.factory.js';
import { loadConfig } from '../../dist/config/app-config.js';

const config = loadConfig(process.env);
// AppModule registers webhook delivery for ROLE=worker; no submission worker is added here.
const app = await createGateway(config);
await app.listen({ port: config.http.port, host: '127.0.0.1' });
