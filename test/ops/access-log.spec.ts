import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/app-config';
import { accessLogWriter, type AccessLogFields, type AccessLogLevel } from '../../src/ops/access-log';
import { createLogger } from '../../src/ops/logger';
import { LogCapture } from '../support/log-capture';

const FIELDS: AccessLogFields[] = [
  {
    requestId: 'b0c8f3c2-6a53-4a0b-9d1e-0d7e2f2f1a11',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    method: 'POST',
    route: '/v3/access-requests',
    path: '/v3/access-requests',
    status: 202,
    durationMs: 1.3,
    client: 'hr',
  },
  {
    requestId: 'caller.id:1-2',
    traceparent: undefined,
    method: 'GET',
    route: 'unmatched',
    path: '/odd/"quoted"\\path/%E2%9C%93/\u00e9\u2028',
    status: 404,
    durationMs: 0,
    client: '-',
  },
  {
    requestId: 'x',
    traceparent: 'not "a" traceparent\t',
    method: 'DELETE',
    route: '/health/live',
    path: '/health/live',
    status: 503,
    durationMs: 12345.6,
    client: 'a-client_with.dots',
  },
];

/** The time is the only field that may differ between two lines written a moment apart. */
const timeless = (line: string): string => line.replace(/"time":"[^"]*"/, '"time":"T"');

describe('access log line', () => {
  for (const level of ['debug', 'info', 'error'] as AccessLogLevel[]) {
    it(`is written as pino writes it (${level})`, () => {
      const config = loadConfig({ NODE_ENV: 'development', ROLE: 'api', LOG_LEVEL: 'debug' });
      const viaPino = new LogCapture();
      const prebuilt = new LogCapture();
      const options = { redact: { paths: [] } };
      const a = createLogger(config, { destination: viaPino }).child({ component: 'http' }, options);
      const write = accessLogWriter(
        createLogger(config, { destination: prebuilt }).child({ component: 'http' }, options),
      );
      for (const f of FIELDS) {
        a[level](f, 'http request');
        write(level, f);
      }
      expect(prebuilt.lines).toHaveLength(FIELDS.length);
      expect(prebuilt.lines.map(timeless)).toEqual(viaPino.lines.map(timeless));
    });
  }

  it('respects the logger level and scrubs configured secrets like any line', () => {
    const config = loadConfig({
      NODE_ENV: 'development',
      ROLE: 'api',
      LOG_LEVEL: 'info',
      DEV_CLIENT_SECRET: 'a-configured-secret-value',
    });
    const out = new LogCapture();
    const write = accessLogWriter(createLogger(config, { destination: out }).child({ component: 'http' }));
    const f = FIELDS[0] as AccessLogFields;
    write('debug', f);
    expect(out.lines).toHaveLength(0);
    write('info', { ...f, path: '/p/a-configured-secret-value' });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).not.toContain('a-configured-secret-value');
    expect(out.records[0]).toMatchObject({ level: 'info', component: 'http', msg: 'http request' });
  });
});
