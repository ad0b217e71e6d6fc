import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Redis, SentinelConnector, type RedisOptions, type SentinelConnectionOptions } from 'ioredis';
import type { RedisAddress } from '../config/redis-config';

type SentinelConnect = SentinelConnector['connect'];
type ConnectorClass = NonNullable<RedisOptions['Connector']>;
type Stream = Awaited<ReturnType<SentinelConnect>>;

const SUBSCRIBER_RETRY_MS = 500;

export interface SentinelSwitchWatch {
  /** ioredis `Connector` for every connection that must follow the primary (duplicates keep it). */
  readonly Connector: ConnectorClass;
  close(): void;
}

/**
 * ioredis learns of a failover only when its socket closes. A killed primary closes it; a hung or
 * partitioned primary (or a manual SENTINEL FAILOVER) does not, and whatever it acknowledges then is
 * discarded when Sentinel demotes it. On `+switch-master`, every socket not on the announced primary
 * is destroyed, so its client re-asks the sentinels exactly as after a crash. (ioredis'
 * failoverDetector disconnects the connector instead, which can abort a reconnect in progress and
 * leave the client closed for good.)
 */
export function watchSentinelSwitch(opts: {
  readonly sentinels: readonly RedisAddress[];
  readonly name: string;
  readonly password: string | undefined;
  readonly tls: boolean;
}): SentinelSwitchWatch {
  const streams = new Set<Stream>();
  let subscribers: Redis[] | undefined;
  let closed = false;

  const onSwitch = async (message: string): Promise<void> => {
    // "<name> <old-ip> <old-port> <new-ip> <new-port>"
    const [name, , , host, port] = message.split(' ');
    if (name !== opts.name || host === undefined || port === undefined) return;
    const addresses = new Set([host, ...(await resolved(host))]);
    for (const s of streams) {
      const onPrimary =
        !s.connecting && s.remotePort === Number(port) && addresses.has(plainAddress(s.remoteAddress));
      if (!onPrimary) s.destroy();
    }
  };

  const subscribe = (): void => {
    if (subscribers !== undefined || closed) return;
    subscribers = opts.sentinels.map((s) => {
      const sub = new Redis({
        host: s.host,
        port: s.port,
        ...(opts.password === undefined ? {} : { password: opts.password }),
        ...(opts.tls ? { tls: {} } : {}),
        maxRetriesPerRequest: null,
        enableReadyCheck: false,
        retryStrategy: () => SUBSCRIBER_RETRY_MS,
        connectionName: 'arg-switch-watch',
      });
      sub.on('error', () => undefined);
      sub.on('message', (_channel: string, message: string) => void onSwitch(message));
      void sub.subscribe('+switch-master').catch(() => undefined);
      return sub;
    });
  };

  const track = (stream: Stream): void => {
    if (closed) return;
    streams.add(stream);
    stream.once('close', () => streams.delete(stream));
    subscribe();
  };

  class WatchedSentinelConnector extends SentinelConnector {
    // ioredis hands a Connector the client's whole options, which hold the sentinel ones.
    constructor(options: unknown) {
      super(options as SentinelConnectionOptions);
    }

    override async connect(...args: Parameters<SentinelConnect>): ReturnType<SentinelConnect> {
      const stream = await super.connect(...args);
      track(stream);
      return stream;
    }
  }

  return {
    Connector: WatchedSentinelConnector,
    close() {
      closed = true;
      subscribers?.forEach((s) => {
        s.disconnect();
      });
      subscribers = undefined;
      streams.clear();
    },
  };
}

async function resolved(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

function plainAddress(address: string | undefined): string {
  return address?.replace(/^::ffff:/, '') ?? '';
}
