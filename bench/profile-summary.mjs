// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package, and
// inclusive time of chosen functions. Usage:
//   node bench/profile-summary.mjs FILE [TOP] [FUNCTION...] [--since-ms=N]
// --since-ms skips the samples of the first N ms after the profile started (start-up, warm-up), as
// `npm run bench -- --profile` does. Also imported by bench/run.mjs (summariseProfile).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function summariseProfile(file, { top = 30, focus = [], sinceMs = 0 } = {}) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Sample counts -> microseconds, using the time deltas between samples; timestamps are µs.
  const selfUs = new Map();
  const from = prof.startTime + sinceMs * 1000;
  let t = prof.startTime;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (t >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

  const where = (cf) => {
    const url = cf.url.replace(/^file:\/\//, '');
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (m) return m[1];
    if (url.includes('/dist/')) return 'gateway (dist)';
    if (url === '') return cf.functionName.startsWith('(') ? cf.functionName : '(native)';
    return url.startsWith('node:') ? 'node core' : url;
  };
  const label = (cf) =>
    `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;

  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  const fnSelf = new Map();
  const pkgSelf = new Map();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    add(fnSelf, label(cf), us);
    add(pkgSelf, where(cf), us);
  }
  const lines = [];
  const pct = (us) => `${((100 * us) / total).toFixed(1)}%`;
  const print = (title, m, n) => {
    lines.push('', title);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
      lines.push(`${pct(v).padStart(6)}  ${k}`);
  };
  lines.push(`total sampled: ${(total / 1e6).toFixed(2)} s${sinceMs > 0 ? ` (from ${sinceMs} ms on)` : ''}`);
  print('self time by package', pkgSelf, 25);
  print('self time by function', fnSelf, top);

  // Inclusive time: a sample counts once for each distinct function name on its stack.
  if (focus.length > 0) {
    const incl = new Map();
    for (const [id, us] of selfUs) {
      const names = new Set();
      for (let cur = id; cur !== undefined; cur = parent.get(cur))
        names.add(byId.get(cur).callFrame.functionName);
      for (const f of focus) if (names.has(f)) add(incl, f, us);
    }
    print('inclusive time', incl, focus.length);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
  const [file, topArg, ...focus] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  if (!file)
    throw new Error(
      'usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP] [FUNCTION...] [--since-ms=N]',
    );
  const since = flags.find((f) => f.startsWith('--since-ms='));
  console.log(
    summariseProfile(file, {
      top: Number(topArg ?? 30),
      focus,
      sinceMs: since === undefined ? 0 : Number(since.slice('--since-ms='.length)),
    }),
  );
}
