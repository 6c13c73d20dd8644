// The web cabinet in a real browser (headless Chromium through playwright-core) against a real
// server on embedded defaults, one server and one browser for the whole file. Receipts are sent
// over TCP by two KKMs at two points of one organization; then, as a taxpayer would: a wrong
// password, the owner's login, the KKMs, a shift's receipts page by page with the "А" mark, one
// receipt, the X report against what was sold, Z reports with a mismatch, an export's zip, the
// analytics, a notification arriving live with its badge, a sub-user who sees only its point,
// the languages, a phone's width, and axe-core on the main screens. SCREENSHOTS=1 writes each
// screen to docs/screenshots/ (the README shows them).
import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  accessible,
  cabinetBrowser,
  cabinetServer,
  openSection,
  shot,
  text,
} from '../helpers/browser.js';
import { ORG_PASSWORD } from '../helpers/cabinet.js';
import { sell, type Sent } from '../helpers/reads.js';
import { parseCsv, unzip } from '../helpers/workers.js';
import { moneyText, toTiyn } from '../../src/fiscal/money.js';
import { Operation, PaymentType, ReportType, ResultCode } from '../../src/protocol/schema.js';
import { emptyReport, requests, seededRandom } from '../../src/sim/documents.js';
import { apiTypesSource, committedApiTypes } from '../../scripts/api-types.js';

// One server and one browser for every screen: the whole file takes about a minute.
t.setTimeout(300_000);
const { server, base } = await cabinetServer(t);

// ---- the organization: two points, a KKM at each ---------------------------------------------
const BIN = '180540012345';
const org = await server.admin('POST', '/api/v1/admin/orgs', {
  bin: BIN,
  title: 'ТОО «Бакалея на Абая»',
  address: 'г. Алматы, пр. Абая, 10',
  okved: '47111',
  password: ORG_PASSWORD,
});
async function kkmAt(pointTitle: string, serialNumber: string) {
  const point = await server.admin('POST', `/api/v1/admin/orgs/${org.json.id}/points`, {
    title: pointTitle,
    address: 'г. Алматы, пр. Абая, 10',
  });
  const kkm = await server.admin('POST', `/api/v1/admin/points/${point.json.id}/kkms`, {
    serialNumber,
    model: 'Меркурий-115Ф',
    fnsKkmId: `0101${serialNumber.slice(-8)}`,
  });
  const token = await server.admin('POST', `/api/v1/admin/kkms/${kkm.json.id}/token`);
  const registered = {
    kkmId: kkm.json.id as number,
    token: token.json.token as number,
    orgId: org.json.id as number,
    pointId: point.json.id as number,
    bin: BIN,
  };
  return { ...registered, serialNumber, device: server.tcpDevice(registered) };
}
const a = await kkmAt('Магазин №1', 'SWK00032851');
const b = await kkmAt('Магазин №2', 'SWK00032852');

const OK = ResultCode.RESULT_TYPE_OK;
const random = seededRandom(20260310);
const day = new Date('2026-03-10T09:00:00Z'); // device wall clock 2026-03-10 09:00:00
const at = (minutes: number) => new Date(day.getTime() + minutes * 60_000);
const tiyn = (s: Sent) => toTiyn(s.request.amounts!.total)!;

// KKM A, shift 1: five sales, closed with the device's Z equal to the server's.
for (let i = 0; i < 5; i++) await sell(a.device, random, at(i));
const x1 = await a.device.send(
  requests.report(ReportType.REPORT_X, emptyReport(1, at(30)), at(30)),
);
const close1 = await a.device.send(requests.closeShift(x1.response.report!.zx_report!, at(31)));
if (close1.response.result.result_code !== OK) throw new Error('close of shift 1 refused');
// KKM A, shift 2 (left open): 24 sales, one made offline, and a return: two pages of 20.
const shift2: Sent[] = [];
for (let i = 0; i < 24; i++) {
  const opts = i === 21 ? { offlineNumber: 1 } : {};
  const payments = i % 3 === 1 ? [PaymentType.PAYMENT_CARD] : undefined;
  shift2.push(await sell(a.device, random, at(60 + i), payments ? { ...opts, payments } : opts));
}
const sellReturn = await sell(a.device, random, at(90), {
  operation: Operation.OPERATION_SELL_RETURN,
});
const offline = shift2[21]!;
// KKM B: three sales, closed with an empty device Z report: the figures differ.
for (let i = 0; i < 3; i++) await sell(b.device, random, at(10 + i));
const closeB = await b.device.send(requests.closeShift(emptyReport(1, at(20)), at(20)));
if (closeB.response.result.result_code !== OK) throw new Error('close of B refused');

const { open, loggedIn, thrown } = await cabinetBrowser(t, base);
const money = (v: number) => text(`${moneyText(v)} ₸`);

t.test('the committed API types are what this server generates', async (t) => {
  const res = await fetch(`${base}/api/v1/openapi.json`);
  const generated = await apiTypesSource((await res.json()) as object);
  t.ok(
    generated === (await committedApiTypes()),
    'web/src/api/schema.d.ts is up to date (npm run api:types)',
  );
});

t.test('the cabinet is served at / beside the API and the receipt page', async (t) => {
  const page = await fetch(base + '/');
  t.equal(page.status, 200);
  t.match(await page.text(), /<div id="app">/);
  const api = await fetch(base + '/api/v1/kkms');
  t.equal(api.status, 401, 'the API keeps its paths');
  const missing = await fetch(base + '/api/v1/no-such-route');
  t.equal(missing.status, 404);
});

t.test('a wrong password shows the error next to the password', async (t) => {
  const { context, page } = await open('the login');
  // From the keyboard alone: Tab to the login, type, Tab to the password, type, Enter.
  const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
  const loginId = await page.getByLabel('Логин (ИИН/БИН)').getAttribute('id');
  for (let i = 0; i < 10 && (await focused()) !== loginId; i++) await page.keyboard.press('Tab');
  t.equal(await focused(), loginId, 'the login field is reached with Tab');
  await page.keyboard.type(BIN);
  await page.keyboard.press('Tab');
  const password = page.getByLabel('Пароль', { exact: true });
  t.equal(await focused(), await password.getAttribute('id'), 'then the password');
  await page.keyboard.type('Wrong-pass1!');
  await page.keyboard.press('Enter');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  t.equal(text(await alert.innerText()), 'Неверный логин или пароль.');
  t.equal(await password.getAttribute('aria-invalid'), 'true');
  const describedBy = (await password.getAttribute('aria-describedby')) ?? '';
  t.equal(describedBy, await alert.getAttribute('id'), 'the field is described by its error');
  await shot(page, 'login-error');
  await accessible(t, page, 'the login');
  await context.close();
});

// The owner's session for the tests that follow, in one context.
const owner = await loggedIn(BIN, ORG_PASSWORD);
t.teardown(() => owner.context.close());
const { page } = owner;

t.test('the owner sees the KKMs with their state', async (t) => {
  const rows = page.locator('[data-testid="kkm-table"] tbody tr');
  t.equal(await rows.count(), 2);
  const rowA = page.locator(`tr[data-kkm="${a.kkmId}"]`);
  t.match(
    text(await rowA.innerText()),
    /SWK00032851.*Магазин №1.*В сети.*смена № 2 с 10\.03\.2026 10:00:00/,
  );
  t.match(text(await page.locator(`tr[data-kkm="${b.kkmId}"]`).innerText()), /Магазин №2.*закрыта/);
  await page.getByText('Обновляется в реальном времени').waitFor();
  await shot(page, 'kkms');
  await accessible(t, page, 'Кассы');
});

t.test("a shift's receipts page by page, the offline one marked А", async (t) => {
  await page.getByRole('link', { name: 'Открыть ККМ SWK00032851' }).click();
  await page.getByRole('heading', { name: 'ККМ SWK00032851' }).waitFor();
  t.equal(await page.getByLabel('Номер смены').inputValue(), '2', 'the open shift is proposed');
  await page.getByRole('button', { name: 'Показать' }).click();
  const rows = page.locator('[data-testid="tickets"] tbody tr');
  await page.getByText('Чеки · Страница 1').waitFor();
  t.equal(await rows.count(), 20, 'a page of 20');
  t.equal(text(await rows.first().locator('th').innerText()), shift2[0]!.number);
  await shot(page, 'transactions');
  await accessible(t, page, 'the transactions');
  await page.getByRole('button', { name: 'Следующая страница' }).click();
  await page.getByText('Чеки · Страница 2').waitFor();
  t.equal(await rows.count(), 5, 'the rest on page 2');
  t.ok(await page.getByRole('button', { name: 'Следующая страница' }).isDisabled(), 'no page 3');
  const offlineRow = page.locator('tr', { has: page.getByRole('link', { name: offline.number }) });
  t.equal(text(await offlineRow.getByTestId('offline-mark').innerText()), 'А', 'marked А');
  t.equal(await page.getByTestId('offline-mark').count(), 1, 'only the offline receipt');
  const returnRow = page.locator('tr', {
    has: page.getByRole('link', { name: sellReturn.number }),
  });
  t.match(text(await returnRow.innerText()), `Возврат продажи ${money(tiyn(sellReturn))}`);
  await page.getByRole('button', { name: 'Предыдущая страница' }).click();
  await page.getByText('Чеки · Страница 1').waitFor();
  t.equal(await rows.count(), 20, 'back to page 1');
});

t.test('one receipt as the buyer sees it', async (t) => {
  const receipt = shift2[3]!;
  await page.getByRole('link', { name: receipt.number }).click();
  await page.getByTestId('receipt').waitFor();
  t.equal(text(await page.getByTestId('receipt-total').innerText()), money(tiyn(receipt)));
  const body = text(await page.getByTestId('receipt').innerText());
  for (const item of receipt.request.items!)
    t.ok(body.includes(item.commodity!.name!), item.commodity!.name!);
  t.ok(body.includes('10.03.2026 10:03:00'), "the register's wall clock");
  const buyer = await page
    .getByRole('link', { name: 'Открыть страницу покупателя' })
    .getAttribute('href');
  t.equal(buyer, new URL(receipt.qr).pathname + new URL(receipt.qr).search, "the QR code's page");
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Скачать' }).click(),
  ]);
  t.equal(file.suggestedFilename(), `receipt-${receipt.number}.html`);
  t.match(readFileSync((await file.path())!, 'utf8'), 'Проверка чека', "the buyer's page, saved");
  await shot(page, 'receipt');
  await accessible(t, page, 'the receipt');
  await page.getByRole('link', { name: 'К транзакциям' }).click();
});

t.test('the X report says what was sold over TCP in this test', async (t) => {
  await page.getByRole('button', { name: 'Отчеты', exact: true }).click();
  await page.getByRole('button', { name: 'Показать' }).click();
  const report = page.getByTestId('x-report');
  await report.waitFor();
  const figure = (field: string) =>
    report.locator(`tr[data-field="${field}"] td`).last().innerText();
  const sold = shift2.reduce((sum, s) => sum + tiyn(s), 0);
  t.equal(text(await figure('ticket_operations[2].tickets_count')), String(shift2.length));
  t.equal(text(await figure('ticket_operations[2].tickets_sum')), money(sold));
  t.equal(text(await figure('ticket_operations[3].tickets_sum')), money(tiyn(sellReturn)));
  t.equal(text(await figure('revenue')), money(sold - tiyn(sellReturn)));
  await shot(page, 'x-report');
});

t.test('Z reports: device and server side by side, a mismatch marked', async (t) => {
  await page.getByLabel('Тип отчета').selectOption('z');
  await page.getByLabel('За смену').check();
  await page.getByLabel('Номер смены').fill('1');
  await page.getByRole('button', { name: 'Показать' }).click();
  const z = page.getByTestId('z-report');
  await z.waitFor();
  t.equal(text(await z.getByRole('status').innerText()), 'Цифры ККМ и ОФД совпадают');
  t.equal(await z.locator('tr.differs').count(), 0);
  // KKM B closed its shift with an empty report of its own.
  await page.goto(`${base}/#/kkms/${b.kkmId}`);
  await page.getByRole('button', { name: 'Отчеты', exact: true }).click();
  await page.getByLabel('Тип отчета').selectOption('z');
  await page.getByLabel('За смену').check();
  await page.getByLabel('Номер смены').fill('1');
  await page.getByRole('button', { name: 'Показать' }).click();
  await z.waitFor();
  t.match(text(await z.getByRole('status').innerText()), /^Расхождение: \d+$/);
  const sum = z.locator('tr[data-field="ticket_operations[2].tickets_sum"]');
  t.equal(await sum.getAttribute('class'), 'differs');
  t.match(text(await sum.innerText()), /не совпадает 0,00 ₸ [1-9]/, 'device 0, server the sales');
  await shot(page, 'z-report');
  await accessible(t, page, 'the reports');
});

t.test('an export of a shift: progress, then the zip', async (t) => {
  await page.goto(`${base}/#/kkms/${a.kkmId}`);
  await page.getByRole('button', { name: 'Показать' }).click();
  await page.getByText('Чеки · Страница 1').waitFor();
  await page.getByRole('button', { name: 'Скачать чеки архивом' }).click();
  await page.getByText(`Архив готов: ${shift2.length + 1} документов.`).waitFor();
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Скачать архив' }).click(),
  ]);
  t.equal(file.suggestedFilename(), `tickets-kkm${a.kkmId}.zip`);
  const entries = await unzip(readFileSync((await file.path())!));
  const csvName = [...entries.keys()].find((n) => n.endsWith('.csv') && n.includes('ticket'));
  t.ok(csvName, `a CSV of receipts among ${[...entries.keys()].join(', ')}`);
  const csv = parseCsv(entries.get(csvName!)!.toString('utf8'));
  t.equal(csv.length - 1, shift2.length + 1, 'every receipt of the shift');
  await shot(page, 'export');
});

t.test('analytics: charts with their tables', async (t) => {
  await page.getByRole('link', { name: 'Аналитика' }).click();
  await page.getByRole('button', { name: 'Выбрать все' }).click();
  await page.getByLabel('С', { exact: true }).fill('2026-03-10');
  await page.getByLabel('По', { exact: true }).fill('2026-03-12');
  await page.getByRole('button', { name: 'Показать отчет' }).click();
  await page.getByTestId('summary').waitFor();
  t.equal(await page.locator('canvas[role="img"]').count(), 3, 'by day, by payment type, by KKM');
  const byKkm = page.getByRole('table', { name: 'Таблица: Продажи по ККМ' });
  t.equal(await byKkm.locator('tbody tr').count(), 2);
  await shot(page, 'analytics');
  await accessible(t, page, 'Аналитика');
  // The manual's limit, said in words before the server is asked.
  await page.getByLabel('По', { exact: true }).fill('2026-03-31');
  await page.getByRole('button', { name: 'Показать отчет' }).click();
  await page.getByText('Для 2–20 ККМ период не более 7 дней.').waitFor();
  t.pass('the 7-day limit of several KKMs');
});

t.test('a notification arrives live and the badge counts it', async (t) => {
  await page.getByRole('link', { name: /^Уведомления/ }).click();
  await page.getByRole('heading', { name: 'Уведомления', level: 1 }).waitFor();
  const badge = page.getByTestId('unread-badge');
  await badge.waitFor();
  const before = Number(await badge.innerText());
  t.ok(before >= 2, 'the tokens issued at registration');
  const blocked = await server.admin('POST', `/api/v1/admin/kkms/${b.kkmId}/block`);
  t.equal(blocked.status, 200);
  // No reload: the live feed brings it.
  await page.getByText(`ККМ ${b.kkmId} заблокирована`).waitFor();
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="unread-badge"]')?.textContent) > n,
    before,
  );
  t.ok(Number(await badge.innerText()) > before, 'the badge grew');
  await shot(page, 'notifications');
  await accessible(t, page, 'Уведомления');
  await page.getByRole('button', { name: 'Отметить все прочитанными' }).click();
  await badge.waitFor({ state: 'detached' });
  t.pass('marked read, the badge is gone');
  await page.getByRole('link', { name: 'Кассы' }).click();
  t.match(text(await page.locator(`tr[data-kkm="${b.kkmId}"]`).innerText()), 'Заблокирована');
});

const SUB_LOGIN = 'kassir.abaya2';
const SUB_PASSWORD = 'Kassir-pass1!';

t.test('users and groups: a sub-user of point №2', async (t) => {
  await page.getByRole('link', { name: 'Пользователи' }).click();
  await page.getByRole('heading', { name: 'Новый пользователь' }).waitFor();
  await page.getByLabel('Электронная почта').fill('kassir2@example.kz');
  await page.getByLabel('ФИО').fill('Айгерим Сапарова');
  await page.getByLabel('Логин', { exact: true }).fill(SUB_LOGIN);
  await page.getByLabel('Новый пароль').fill('short');
  await page.getByLabel('Повторите пароль').fill('short');
  await page.getByLabel('Магазин №2').check();
  await page.getByRole('button', { name: 'Добавить' }).click();
  const passwordError = page
    .locator('.field', { has: page.getByLabel('Новый пароль') })
    .getByRole('alert');
  await passwordError.waitFor();
  t.match(
    await passwordError.innerText(),
    /^Пароль не отвечает требованиям/,
    "the server's refusal of body/password under the password, in the cabinet's words",
  );
  await page.getByLabel('Новый пароль').fill(SUB_PASSWORD);
  await page.getByLabel('Повторите пароль').fill(SUB_PASSWORD);
  await page.getByRole('button', { name: 'Добавить' }).click();
  await page.getByText(`Пользователь ${SUB_LOGIN} добавлен.`).waitFor();
  t.match(
    text(await page.getByRole('row', { name: new RegExp(SUB_LOGIN) }).innerText()),
    /Магазин №2.*Транзакции, Отчеты/,
  );
  await shot(page, 'users');
  await accessible(t, page, 'Пользователи');
  await page.getByRole('link', { name: 'Группы' }).click();
  await page.getByLabel('Имя группы').fill('Кассиры');
  await page
    .getByRole('group', { name: 'Личный кабинет (модули)' })
    .getByLabel('Транзакции')
    .check();
  await page.getByRole('group', { name: 'Торговые точки' }).getByLabel('Магазин №2').check();
  await page.getByRole('button', { name: 'Добавить' }).click();
  await page.getByText('Группа Кассиры добавлена.').waitFor();
  t.match(
    text(await page.getByRole('row', { name: /Кассиры/ }).innerText()),
    /^Кассиры Транзакции Магазин №2/,
    'the new group listed',
  );
  await shot(page, 'groups');
  await accessible(t, page, 'Группы');
});

t.test('a sub-user sees only the KKMs of its point', async (t) => {
  const sub = await loggedIn(SUB_LOGIN, SUB_PASSWORD);
  await sub.page.getByTestId('kkm-table').waitFor();
  const rows = sub.page.locator('[data-testid="kkm-table"] tbody tr');
  t.equal(await rows.count(), 1);
  t.equal(await rows.first().getAttribute('data-kkm'), String(b.kkmId));
  t.equal(await sub.page.getByRole('link', { name: 'Пользователи' }).count(), 0, 'no Пользователи');
  // Another KKM's page by its address: the API's 404, in words.
  await sub.page.goto(`${base}/#/kkms/${a.kkmId}`);
  await sub.page
    .getByRole('alert')
    .filter({ hasText: `ККМ ${a.kkmId} не найдена` })
    .waitFor();
  await sub.context.close();
});

t.test('Kazakh and English', async (t) => {
  await page.getByLabel('Язык').selectOption('kk');
  await openSection(page, 'Кассалар', 'Бөлімдер');
  t.equal(await page.locator('html').getAttribute('lang'), 'kk');
  await shot(page, 'kkms-kk');
  await accessible(t, page, 'Кассалар (kk)');
  await page.getByLabel('Тіл').selectOption('en');
  await page.getByRole('heading', { name: 'Cash registers', level: 1 }).waitFor();
  await page.getByLabel('Language').selectOption('ru');
  await page.getByRole('heading', { name: 'Кассы', level: 1 }).waitFor();
  t.pass('back in Russian');
});

t.test("at a phone's width nothing runs off the screen", async (t) => {
  const phone = await loggedIn(BIN, ORG_PASSWORD, { width: 375, height: 740 });
  for (const hash of ['#/users', '#/', `#/kkms/${a.kkmId}`, '#/analytics']) {
    await phone.page.goto(`${base}/${hash}`);
    await phone.page.locator('h1').waitFor();
    await phone.page.waitForTimeout(200);
    const [width, widest] = await phone.page.evaluate(() => {
      // What sticks out furthest, to name it when this fails.
      const right = [...document.querySelectorAll('body *')]
        .map((e) => [Math.round(e.getBoundingClientRect().right), e.outerHTML.slice(0, 60)])
        .sort((x, y) => Number(y[0]) - Number(x[0]));
      return [document.documentElement.scrollWidth, right.slice(0, 3).map(String)] as const;
    });
    t.ok(width <= 375, `${hash}: page width ${width} ≤ 375`, { widest });
  }
  await phone.page.goto(`${base}/#/`);
  await phone.page.getByTestId('kkm-table').waitFor();
  await shot(phone.page, 'kkms-phone');
  await phone.context.close();
});

t.test('the cabinet threw nothing in the browser', async (t) => {
  t.same(thrown, []);
});
