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

/** Text as a user reads it: runs of spaces and no-break spaces as one space. */
export const text = (s: string) => s.replace(/[\u00a0\s]+/g, ' ').trim();

export interface Session {
  context: BrowserContext;
  page: Page;
}

/** The Chromium of a test file and the cabinet at `base` in it. */
export interface CabinetBrowser {
  browser: Browser;
  /** Uncaught exceptions in any page of a context opened here (a test checks there are none). */
  thrown: string[];
  /** A new browser context (Russian) with a page on the cabinet's first screen. */
  open(name: string, viewport?: Viewport): Promise<Session>;
  /** A new browser context logged in to the cabinet, on the Кассы screen. */
  loggedIn(login: string, password: string, viewport?: Viewport): Promise<Session>;
}

type Viewport = { width: number; height: number };

/** Launches Chromium for the test file (closed at its end) against the cabinet at `base`. */
export async function cabinetBrowser(t: Test, base: string): Promise<CabinetBrowser> {
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const thrown: string[] = [];
  const open = async (name: string, viewport = { width: 1280, height: 800 }) => {
    const context = await browser.newContext({ locale: 'ru-RU', viewport, acceptDownloads: true });
    context.setDefaultTimeout(10_000);
    context.on('weberror', (e) => thrown.push(`${name}: ${e.error().stack ?? e.error().message}`));
    const page = await context.newPage();
    await page.goto(base + '/');
    return { context, page };
  };
  const loggedIn = async (login: string, password: string, viewport?: Viewport) => {
    const session = await open(login, viewport);
    const { page } = session;
    await page.getByLabel('Логин (ИИН/БИН)').fill(login);
    await page.getByLabel('Пароль', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.getByRole('heading', { name: 'Кассы', level: 1 }).waitFor();
    return session;
  };
  return { browser, thrown, open, loggedIn };
}

/** Opens a section of the cabinet from its navigation and waits for the section's heading. */
export async function openSection(page: Page, name: string, navigation = 'Разделы') {
  await page
    .getByRole('navigation', { name: navigation })
    .getByRole('link', { name, exact: true })
    .click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}

/** The web cabinet built from source and a server on embedded defaults serving it. */
export async function cabinetServer(t: Test): Promise<{ server: TestServer; base: string }> {
  const web = await buildWebCabinet();
  t.teardown(() => web.remove());
  const server = await startTestServer({ OFD_WEB_DIR: web.dir });
  t.teardown(() => server.stop());
  return { server, base: `http://127.0.0.1:${server.httpPort}` };
}
