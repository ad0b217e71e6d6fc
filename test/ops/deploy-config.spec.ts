import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load, YAML11_SCHEMA } from 'js-yaml';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway';
import { metricFamilies } from '../support/prometheus';
import { startRedis, type PrivateRedis } from '../support/redis-server';

const root = process.cwd();
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
// YAML 1.1 schema: compose files use `<<:` merge keys.
const yaml = (path: string): Record<string, unknown> =>
  load(read(path), { schema: YAML11_SCHEMA }) as Record<string, unknown>;

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: unknown[];
  container_name?: string;
  profiles?: string[];
  volumes?: string[];
  init?: boolean;
}

/** Every `gateway_*` name a PromQL text refers to. */
const referencedMetrics = (text: string): Set<string> => new Set(text.match(/gateway_[a-z0-9_]+/g) ?? []);

describe('deployment files', () => {
  const compose = yaml('docker-compose.yml') as { services: Record<string, ComposeService> };
  const svc = (name: string): ComposeService => {
    const s = compose.services[name];
    if (s === undefined) throw new Error(`no service ${name}`);
    return s;
  };

  describe('docker-compose.yml', () => {
    it('runs Redis with AOF on and noeviction, on a volume', () => {
      const cmd = svc('redis').command as string[];
      const arg = (flag: string): string | undefined => cmd[cmd.indexOf(flag) + 1];
      expect(arg('--appendonly')).toBe('yes');
      expect(arg('--maxmemory-policy')).toBe('noeviction');
      expect(svc('redis').volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    });

    it('runs the gateway as separate api and worker services from one image', () => {
      expect(svc('api').environment?.ROLE).toBe('api');
      expect(svc('worker').environment?.ROLE).toBe('worker');
      expect(svc('api').image).toBe(svc('worker').image);
      for (const name of ['api', 'worker']) {
        const env = svc(name).environment ?? {};
        expect(env.REDIS_URL, name).toBe('redis://redis:6379');
        // Defaults point at the bundled simulator, so `docker compose up` needs no tenant.
        expect(env.IDN_BASE_URL, name).toBe('${IDN_BASE_URL:-http://simulator:4010}');
        expect(env.IDN_CLIENT_ID, name).toBe('${IDN_CLIENT_ID:-sim-client}');
        expect(env.IDN_CLIENT_SECRET, name).toBe('${IDN_CLIENT_SECRET:-sim-secret}');
        expect(svc(name).init, name).toBe(true);
      }
    });

    it('keeps the worker scalable: no container_name, no host ports', () => {
      expect(svc('worker').container_name).toBeUndefined();
      expect(svc('worker').ports).toBeUndefined();
    });

    it('runs the simulator in the default profile from the gateway image', () => {
      expect(svc('simulator').profiles).toBeUndefined();
      expect(svc('simulator').image).toBe(svc('api').image);
      expect(svc('simulator').command).toEqual(['node', 'dist/simulator/simulator.main.js']);
      expect(svc('simulator').environment?.SIMULATOR_PORT).toBe('4010');
    });

    it('puts Prometheus and Grafana in the monitoring profile, with provisioning mounted', () => {
      expect(svc('prometheus').profiles).toEqual(['monitoring']);
      expect(svc('grafana').profiles).toEqual(['monitoring']);
      expect(svc('grafana').volumes).toEqual(
        expect.arrayContaining([
          './ops/grafana/provisioning:/etc/grafana/provisioning:ro',
          './ops/grafana/dashboards:/var/lib/grafana/dashboards:ro',
        ]),
      );
    });
  });

  describe('Dockerfile', () => {
    const dockerfile = read('Dockerfile');
    const stages = dockerfile.split(/^FROM /m).slice(1);

    it('is multi-stage and its runtime stage has production dependencies only, as non-root', () => {
      expect(stages.length).toBeGreaterThanOrEqual(2);
      const runtime = stages[stages.length - 1]!;
      expect(dockerfile).toMatch(/npm ci --omit=dev/);
      // The runtime copies node_modules from the stage that ran `npm ci --omit=dev`.
      const fromStage = /COPY --from=(\S+) \S* ?\/app\/node_modules/.exec(runtime)?.[1];
      const prodStage = stages.find((s) => s.includes('npm ci --omit=dev'))!;
      expect(prodStage.split('\n')[0]).toContain(`AS ${fromStage}`);
      expect(runtime).toMatch(/^USER node$/m);
      expect(runtime).not.toMatch(/npm (ci|install)(?! --omit=dev)/);
      expect(runtime).toMatch(/CMD \["node", "dist\/main\.js"\]/);
    });

    it('keeps secrets and local state out of the build context', () => {
      const ignore = read('.dockerignore').split('\n');
      for (const entry of ['node_modules', '.env', '.git', 'dist']) expect(ignore).toContain(entry);
    });
  });

  describe('Prometheus, alerts and Grafana refer to metrics the gateway exports', () => {
    let redis: PrivateRedis;
    let gw: TestGateway;
    let exported: Set<string>;
    beforeAll(async () => {
      redis = await startRedis();
      gw = await startGateway({ REDIS_URL: redis.url });
      const res = await request(gw.server).get('/metrics');
      exported = new Set();
      for (const [name, type] of metricFamilies(res.text)) {
        exported.add(name);
        if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
        if (type === 'summary') for (const s of ['_sum', '_count']) exported.add(name + s);
      }
    });
    afterAll(async () => {
      await gw.close();
      await redis.stop();
    });

    it('scrapes /metrics of api and worker', () => {
      const prom = yaml('ops/prometheus/prometheus.yml') as {
        scrape_configs: { job_name: string; metrics_path?: string; rule_files?: string[] }[];
        rule_files: string[];
      };
      const jobs = new Map(prom.scrape_configs.map((c) => [c.job_name, c]));
      expect(jobs.get('gateway-api')?.metrics_path).toBe('/metrics');
      expect(jobs.get('gateway-worker')?.metrics_path).toBe('/metrics');
      expect(JSON.stringify(jobs.get('gateway-api'))).toContain('api:3000');
      expect(JSON.stringify(jobs.get('gateway-worker'))).toContain('"worker"');
      expect(prom.rule_files).toContain('/etc/prometheus/alerts.yml');
    });

    it('alerts use only exported metrics', () => {
      const alerts = yaml('ops/prometheus/alerts.yml') as {
        groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[];
      };
      const rules = alerts.groups.flatMap((g) => g.rules);
      expect(rules.length).toBeGreaterThanOrEqual(8);
      for (const rule of rules) {
        expect(rule.labels.severity, rule.alert).toMatch(/^(page|warn|info)$/);
        for (const m of referencedMetrics(rule.expr)) expect(exported, `${rule.alert}: ${m}`).toContain(m);
      }
    });

    it('the provisioned dashboard covers intake, queue depth, outcomes, IdentityNow latency and 429s, budget', () => {
      const dash = JSON.parse(read('ops/grafana/dashboards/gateway.json')) as {
        uid: string;
        panels: { type: string; title: string; targets?: { expr: string }[] }[];
      };
      const provider = yaml('ops/grafana/provisioning/dashboards/gateway.yml') as {
        providers: { options: { path: string } }[];
      };
      expect(provider.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');
      const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
      for (const m of referencedMetrics(exprs)) expect(exported, m).toContain(m);
      for (const needed of [
        'gateway_access_requests_accepted_total',
        'gateway_queue_jobs',
        'gateway_pairs_total',
        'gateway_identitynow_request_duration_seconds_bucket',
        'gateway_identitynow_rate_limited_total',
        'gateway_identitynow_rate_limit_budget_used',
      ]) {
        expect(exprs, needed).toContain(needed);
      }
    });

    it('the runbook documents every gateway metric', () => {
      const runbook = read('docs/operations.md');
      const own = [...exported].filter(
        (m) => !/^gateway_(process|nodejs)_/.test(m) && !/_(bucket|sum|count)$/.test(m),
      );
      expect(own.length).toBeGreaterThan(15);
      for (const m of own) expect(runbook, m).toContain(m);
    });
  });
});
