// The receipt check in a real browser: headless Chromium (Debian's `chromium`, driven by
// playwright-core; nothing is downloaded) opens the QR URL of a receipt sent over TCP, with
// JavaScript off, and sees the total and every item; in print media the language links go.
// The screenshot in the README is taken here (docs/screenshots/receipt-check.png); the data
// are fixed, so it changes only when the page does.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import t from 'tap';
import { launchBrowser, screenshotPath } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { toTiyn } from '../../src/fiscal/money.js';
import { moneyText } from '../../src/fiscal/money.js';
import { PaymentType, ResultCode } from '../../src/protocol/schema.js';
import { requests, seededRandom, ticket } from '../../src/sim/documents.js';

const screenshot = screenshotPath('receipt-check');

const server = await startTestServer();
t.teardown(() => server.stop());

const org = await server.admin('POST', '/api/v1/admin/orgs', {
  bin: '180540012345',
  title: 'ТОО «Бакалея на Абая»',
  address: 'г. Алматы, пр. Абая, 10',
  okved: '47111',
  password: 'Secret-pass1!',
});
const point = await server.admin('POST', `/api/v1/admin/orgs/${org.json.id}/points`, {
  title: 'Магазин №1',
  address: 'г. Алматы, пр. Абая, 10',
});
const kkm = await server.admin('POST', `/api/v1/admin/points/${point.json.id}/kkms`, {
  serialNumber: 'KKM-0012345',
  model: 'Test KKM',
  fnsKkmId: '010100012345',
});
const token = await server.admin('POST', `/api/v1/admin/kkms/${kkm.json.id}/token`);
const dev = server.tcpDevice({
  kkmId: kkm.json.id,
  token: token.json.token,
  orgId: org.json.id,
  pointId: point.json.id,
  bin: '180540012345',
});
const names = ['Хлеб бородинский', 'Молоко 3,2% 1 л', 'Сыр «Российский»', 'Яблоки', 'Чай'];
const request = ticket(seededRandom(14), {
  items: names.length,
  at: new Date('2026-03-10T18:42:05Z'),
  payments: [PaymentType.PAYMENT_CARD, PaymentType.PAYMENT_CASH],
});
request.items!.forEach((item, i) => (item.commodity!.name = names[i]));
const answer = await dev.send(requests.ticket(request));
if (answer.response.result.result_code !== ResultCode.RESULT_TYPE_OK) {
  throw new Error(`ticket refused: ${answer.response.result.result_text}`);
}
const qr = new URL(Buffer.from(answer.response.ticket!.qr_code!).toString('utf8'));
const url = `http://127.0.0.1:${server.httpPort}${qr.pathname}${qr.search}`;

const browser = await launchBrowser();
t.teardown(() => browser.close());

t.test('the QR URL shows the total and every item, without JavaScript', async (t) => {
  const context = await browser.newContext({
    javaScriptEnabled: false,
    viewport: { width: 600, height: 400 },
    locale: 'ru-RU',
  });
  const page = await context.newPage();
  const res = await page.goto(url);
  t.equal(res?.status(), 200);
  const text = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
  for (const name of names) t.ok(text.includes(name), `shows ${name}`);
  const total = moneyText(toTiyn(request.amounts!.total)!).replace(/\u00a0/g, ' ');
  t.ok(text.includes(`${total} ₸`), `shows the total ${total}`);
  t.ok(text.includes('ТОО «Бакалея на Абая»'));
  t.equal(await page.locator('script').count(), 0);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  t.ok(existsSync(screenshot), 'screenshot saved');
  await page.emulateMedia({ media: 'print' });
  t.notOk(await page.locator('nav').isVisible(), 'printing leaves out the language links');
  await context.close();
});

t.test('the Kazakh page in the browser', async (t) => {
  const context = await browser.newContext({ javaScriptEnabled: false, locale: 'kk-KZ' });
  const page = await context.newPage();
  await page.goto(url);
  t.equal(await page.locator('h1').innerText(), 'Чекті тексеру', 'Accept-Language kk');
  await page.locator('a[hreflang="ru"]').click();
  t.equal(await page.locator('h1').innerText(), 'Проверка чека', 'the link to Russian');
  await context.close();
});
