// Load generators. wrk (C, event loop, one thread) is preferred: on a 2-core machine the generator
// competes with the server for CPU, and wrk spends several times less CPU per request than
// autocannon (Node). autocannon (a devDependency) is the fallback when wrk is not installed.
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export function wrkAvailable() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    // wrk --version exits 1 after printing its version; only "not found" means absent.
    return e.code !== 'ENOENT';
  }
}

export function wrkVersion() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'pipe' });
  } catch (e) {
    return String(e.stdout ?? '')
      .split('\n')[0]
      .trim();
  }
  return 'wrk';
}

function luaScript(body, headers) {
  const lines = ['wrk.method = "POST"', `wrk.body = [==[${body}]==]`];
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers["${k}"] = [==[${v}]==]`);
  lines.push(
    'done = function(s, lat, req)',
    '  io.write(string.format(\'WRKJSON {"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,' +
      '"writeErrors":%d,"non2xx":%d,"timeouts":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\\n\',',
    '    s.requests, s.duration, s.errors.connect, s.errors.read, s.errors.write, s.errors.status,',
    '    s.errors.timeout, lat:percentile(50), lat:percentile(90), lat:percentile(99), lat.max))',
    'end',
  );
  return lines.join('\n');
}

/** One closed-loop run; resolves with requests, req/s, latency percentiles (ms) and error counts. */
export async function runLoad({ tool, url, body, headers, connections, durationS, workDir }) {
  if (tool === 'wrk') {
    const script = join(workDir, 'post.lua');
    writeFileSync(script, luaScript(body, headers));
    const stdout = await new Promise((resolve, reject) => {
      execFile(
        'wrk',
        ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '10s', '-s', script, url],
        { timeout: (durationS + 30) * 1000 },
        (err, out) => (err ? reject(err) : resolve(out)),
      );
    });
    const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
    if (line === undefined) throw new Error(`wrk printed no result:\n${stdout}`);
    const r = JSON.parse(line.slice('WRKJSON '.length));
    return {
      requests: r.requests,
      durationS: r.durationUs / 1e6,
      rps: r.requests / (r.durationUs / 1e6),
      p50Ms: r.p50Us / 1000,
      p90Ms: r.p90Us / 1000,
      p99Ms: r.p99Us / 1000,
      maxMs: r.maxUs / 1000,
      non2xx: r.non2xx,
      errors: r.connectErrors + r.readErrors + r.writeErrors + r.timeouts,
    };
  }
  const autocannon = createRequire(import.meta.url)('autocannon');
  const r = await autocannon({
    url,
    method: 'POST',
    body,
    headers,
    connections,
    duration: durationS,
    timeout: 10,
  });
  return {
    requests: r.requests.total,
    durationS: r.duration,
    rps: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}
