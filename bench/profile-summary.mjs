// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package, and
// inclusive time of chosen functions. Usage: node bench/profile-summary.mjs FILE [TOP] [FUNCTION...]
import { readFileSync } from 'node:fs';

const [file, topArg, ...focus] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP] [FUNCTION...]');
const top = Number(topArg ?? 30);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Sample counts -> microseconds, using the time deltas between samples.
const selfUs = new Map();
prof.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
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
const pct = (us) => `${((100 * us) / total).toFixed(1)}%`;
const print = (title, m, n) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(`${pct(v).padStart(6)}  ${k}`);
};
console.log(`total sampled: ${(total / 1e6).toFixed(2)} s`);
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
