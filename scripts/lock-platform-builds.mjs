// The package registry this project is developed against lacks chdb's macOS and Linux-ARM
// builds, so `npm install` leaves them out of package-lock.json and `npm ci` would then give
// those platforms no embedded engine. This writes their entries back (the public registry's
// address; npm skips them here by os/cpu without fetching, and fetches them where they fit).
// Run after any `npm install` that rewrites the lockfile.
import { readFileSync, writeFileSync } from 'node:fs';
import { URL } from 'node:url';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const chdb = lock.packages['node_modules/chdb'];
const builds = Object.keys(chdb.optionalDependencies ?? {});
const PLATFORMS = {
  'darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
};
for (const name of builds) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const platform = PLATFORMS[name.replace('@chdb/lib-', '')];
  if (!platform) throw new Error(`unknown chdb build ${name}`);
  const version = chdb.optionalDependencies[name];
  const file = name.split('/')[1];
  lock.packages[key] = {
    version,
    resolved: `https://registry.npmjs.org/${name}/-/${file}-${version}.tgz`,
    license: 'Apache-2.0',
    optional: true,
    ...platform,
  };
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
