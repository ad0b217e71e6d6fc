import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What the receiver does with the n-th delivery (0-based) on a path: answer a status, or never answer. */
export type ReceiverBehaviour = (n: number) => number | 'hang';

export interface WebhookReceiver {
  /** Base URL, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Every delivery received so far, in order. */
  readonly deliveries: Delivery[];
  on(path: string, behaviour: ReceiverBehaviour): void;
  /** The deliveries to one path. */
  to(path: string): Delivery[];
  close(): Promise<void>;
}

/** A real HTTP receiver on a free loopback port; unknown paths answer 200. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const behaviours = new Map<string, ReceiverBehaviour>();
  const deliveries: Delivery[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = deliveries.filter((d) => d.path === path).length;
      deliveries.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const action = (behaviours.get(path) ?? (() => 200))(n);
      if (action === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(action, { 'content-type': 'text/plain' }).end(action < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    on(path, behaviour) {
      behaviours.set(path, behaviour);
    },
    to: (path) => deliveries.filter((d) => d.path === path),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

/** 32 random-looking bytes as a Standard Webhooks secret (fixed per seed, for readable failures). */
export const webhookSecret = (seed: string): string =>
  `whsec_${Buffer.from(seed.padEnd(32, '#').slice(0, 32)).toString('base64')}`;
