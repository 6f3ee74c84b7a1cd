// The npm tools of the contract tests, pinned in package.json and locked in
// package-lock.json, installed here with `npm ci` when node_modules does not hold exactly
// the locked versions (only the npm registry is needed). Run alone (`node deps.mjs`, the
// ctest fixture contract_npm) or imported by lint.mjs and live.test.mjs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));

// The direct dependencies whose installed version differs from the lock file's.
function stale() {
  const lock = JSON.parse(fs.readFileSync(path.join(HERE, 'package-lock.json'), 'utf8'));
  const direct = Object.keys(lock.packages[''].dependencies ?? {});
  return direct.filter((name) => {
    const want = lock.packages[`node_modules/${name}`]?.version;
    try {
      const have = JSON.parse(
        fs.readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8'),
      ).version;
      return have !== want;
    } catch {
      return true;
    }
  });
}

export function ensureDeps() {
  const missing = stale();
  if (missing.length === 0) return;
  console.log(`# npm ci in ${HERE} (${missing.join(', ')} missing or not the locked version)`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: HERE, stdio: 'inherit' });
  if (r.status !== 0) {
    console.log(`FAIL npm ci (status ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
    process.exit(1);
  }
  const still = stale();
  if (still.length) {
    console.log(`FAIL after npm ci, still not the locked version: ${still.join(', ')}`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureDeps();
  console.log('PASS npm packages are the locked versions');
}
