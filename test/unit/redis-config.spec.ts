import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadConfig } from '../../src/config/app-config';
import { hashTagOf } from '../../src/config/redis-config';

const problemsOf = (env: Record<string, string>): string => {
  try {
    loadConfig({ NODE_ENV: 'development', ...env });
  } catch (e) {
    if (e instanceof ConfigValidationError) return e.problems.join('\n');
    throw e;
  }
  return '';
};

describe('Redis topology configuration', () => {
  it('defaults to one server at REDIS_URL, no replica acknowledgement', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      prefix: 'arg',
      topology: { kind: 'standalone' },
      password: undefined,
      minReplicasAck: 0,
    });
  });

  it('REDIS_CLUSTER_NODES selects Cluster, with a hash-tag prefix', () => {
    const c = loadConfig({
      NODE_ENV: 'development',
      REDIS_CLUSTER_NODES: 'r1.internal:7000, 10.0.0.2:7001,[::1]:7002,r4',
      QUEUE_PREFIX: '{arg}',
      REDIS_PASSWORD: 'pw',
      REDIS_MIN_REPLICAS_ACK: '1',
    });
    expect(c.redis).toMatchObject({
      prefix: '{arg}',
      password: 'pw',
      minReplicasAck: 1,
      topology: {
        kind: 'cluster',
        tls: false,
        nodes: [
          { host: 'r1.internal', port: 7000 },
          { host: '10.0.0.2', port: 7001 },
          { host: '::1', port: 7002 },
          { host: 'r4', port: 6379 },
        ],
      },
    });
    expect(
      loadConfig({
        NODE_ENV: 'development',
        REDIS_CLUSTER_NODES: 'rediss://a:6379,rediss://b:6379',
        QUEUE_PREFIX: 'x{t}',
      }).redis.topology,
    ).toMatchObject({ kind: 'cluster', tls: true });
  });

  it('refuses Cluster without a hash tag in QUEUE_PREFIX, the default prefix included', () => {
    const prefixes: Record<string, string>[] = [
      {},
      { QUEUE_PREFIX: 'arg' },
      { QUEUE_PREFIX: '{}arg' },
      { QUEUE_PREFIX: 'arg}{' },
    ];
    for (const env of prefixes) {
      expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:7000', ...env })).toMatch(
        /QUEUE_PREFIX must contain a hash tag such as \{arg\} on Redis Cluster/,
      );
    }
    expect(hashTagOf('{arg}')).toBe('arg');
    expect(hashTagOf('gw-{prod}-x')).toBe('prod');
    expect(hashTagOf('arg')).toBeUndefined();
  });

  it('REDIS_SENTINELS + REDIS_SENTINEL_MASTER selects Sentinel; one without the other is refused', () => {
    expect(
      loadConfig({
        NODE_ENV: 'development',
        REDIS_SENTINELS: 's1:26379,s2:26380,s3',
        REDIS_SENTINEL_MASTER: 'gw',
      }).redis.topology,
    ).toEqual({
      kind: 'sentinel',
      masterName: 'gw',
      tls: false,
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
    });
    expect(problemsOf({ REDIS_SENTINELS: 's1:26379' })).toMatch(
      /REDIS_SENTINEL_MASTER is required when REDIS_SENTINELS is set/,
    );
    expect(problemsOf({ REDIS_SENTINEL_MASTER: 'gw' })).toMatch(
      /REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not/,
    );
  });

  it('lists every malformed Redis variable', () => {
    const problems = problemsOf({
      REDIS_CLUSTER_NODES: 'a:7000;b:7001',
      REDIS_SENTINELS: 'rediss://s1:1,s2:2',
      REDIS_SENTINEL_MASTER: 'gw',
      REDIS_MIN_REPLICAS_ACK: '-1',
    });
    expect(problems).toMatch(/REDIS_CLUSTER_NODES must be host:port/);
    expect(problems).toMatch(/REDIS_SENTINELS: use rediss:\/\/ on every address or on none/);
    expect(problems).toMatch(/REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set/);
    expect(problems).toMatch(/REDIS_MIN_REPLICAS_ACK/);
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:70000', QUEUE_PREFIX: '{a}' })).toMatch(/above 65535/);
  });
});
