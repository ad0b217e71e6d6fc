// A built worker process that runs only webhook delivery (ROLE=worker, configured by its environment),
// for tests that kill it mid-delivery. Started through startGatewayProcess(env, WEBHOOK_WORKER).
import 'reflect-metadata';
import { createGateway } from '../../dist/app.factory.js';
import { loadConfig } from '../../dist/config/app-config.js';
import { WebhooksModule } from '../../dist/webhooks/webhooks.module.js';

const config = loadConfig(process.env);
const app = await createGateway(config, { modules: [WebhooksModule.forRoot({ deliver: true })] });
await app.listen({ port: config.http.port, host: '127.0.0.1' });
