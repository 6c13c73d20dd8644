// The real browser of the browser tests: Debian's chromium (installed by .ci/run), driven by
// playwright-core, which downloads no browser. A missing browser fails the test, never skips it.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Test } from 'tap';
import { startTestServer, type TestServer } from './server.js';

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

/** SCREENSHOTS=1: the page as it is, full length, to docs/screenshots/cabinet-NAME.png. */
export async function shot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return;
  const path = screenshotPath(`cabinet-${name}`);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function accessible(t: Test, page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  t.same(
    bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `axe: no serious or critical violations on ${screen}`,
  );
}

/** A new browser context (Russian) logged in to the cabinet at `base`, on the Кассы screen. */
export async function cabinetLogin(
  browser: Browser,
  base: string,
  login: string,
  password: string,
  viewport = { width: 1280, height: 800 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'ru-RU', viewport, acceptDownloads: true });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.getByLabel('Логин (ИИН/БИН)').fill(login);
  await page.getByLabel('Пароль', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Войти' }).click();
  await page.getByRole('heading', { name: 'Кассы', level: 1 }).waitFor();
  return { context, page };
}

/** The web cabinet built from source and a server on embedded defaults serving it. */
export async function cabinetServer(t: Test): Promise<{ server: TestServer; base: string }> {
  const web = await buildWebCabinet();
  t.teardown(() => web.remove());
  const server = await startTestServer({ OFD_WEB_DIR: web.dir });
  t.teardown(() => server.stop());
  return { server, base: `http://127.0.0.1:${server.httpPort}` };
}
