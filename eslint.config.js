import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// The layers of src/, lowest first: a file may import from its own layer and the ones below,
// never from above (README, "Architecture"). Siblings of the service layer stay apart too.
const layers = [
  ['src/config', 'src/protocol'],
  ['src/fiscal'],
  ['src/storage', 'src/access', 'src/telemetry', 'src/jobs'],
  ['src/ingest', 'src/workers', 'src/api', 'src/sim', 'src/forwarding'],
  ['src/cluster', 'src/app', 'src/main.ts'],
];
const above = (level) => layers.slice(level + 1).flat();
const services = layers[3];
const zones = [
  ...layers.flatMap((dirs, level) =>
    dirs
      .filter(() => above(level).length > 0)
      .map((target) => ({ target, from: above(level), message: 'imports from a higher layer' })),
  ),
  // Configuration is plain values: it reads the environment and imports nothing of ours.
  { target: 'src/config', from: 'src/protocol', message: 'config imports nothing of ours' },
  { target: 'src/protocol', from: 'src/config', message: 'the wire knows no configuration' },
  // Access rules are pure: no storage, no I/O.
  {
    target: 'src/access',
    from: ['src/storage', 'src/telemetry', 'src/jobs'],
    message: 'access rules are pure functions',
  },
  ...services.map((target) => ({
    target,
    from: services.filter((s) => s !== target),
    message: 'ingest, workers, api, sim and forwarding share only what lies below them',
  })),
];

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', 'data/', '.tap/', 'src/protocol/generated/', 'bench/out/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver()] },
    rules: { 'import-x/no-restricted-paths': ['error', { zones }] },
  },
  {
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);
