// The real browser of the browser tests: Debian's chromium (installed by .ci/run), driven by
// playwright-core, which downloads no browser. A missing browser fails the test, never skips it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `no Chromium at ${executablePath}: apt-get install chromium or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}

/** Screenshots shown in the README. */
export const screenshotPath = (name: string) =>
  fileURLToPath(new URL(`../../docs/screenshots/${name}.png`, import.meta.url));

/**
 * The web cabinet built from the current source into a temporary directory (the server is
 * given it as OFD_WEB_DIR), so the test never runs against a stale dist/web.
 */
export async function buildWebCabinet(): Promise<{ dir: string; remove(): void }> {
  const { build } = await import('vite');
  const dir = mkdtempSync(join(tmpdir(), 'ofd-web-'));
  await build({
    configFile: fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url)),
    logLevel: 'warn',
    build: { outDir: dir, emptyOutDir: true },
  });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
