// `npm run simulator`: runs the standalone IdentityNow simulator from dist/, building first when the
// compiled file is missing. Configuration comes from the environment (SIMULATOR_*; see docs/simulator.md).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = resolve(root, 'dist/simulator/simulator.main.js');

if (!existsSync(entry)) {
  console.log('dist/simulator/simulator.main.js not found; building with `npx nest build` ...');
  const build = spawnSync('npx', ['nest', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0 || !existsSync(entry)) {
    console.error('build failed; cannot start the simulator');
    process.exit(build.status ?? 1);
  }
}

const child = spawn(process.execPath, [entry, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
// Forward stop signals so `docker stop` / `kill` reach the simulator, not just this wrapper.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
