// Editing in the web cabinet, in a real browser (headless Chromium through playwright-core)
// against a real server on embedded defaults, as cabinet-browser.test.ts sets them up: the
// owner opens a sub-user from the Пользователи list by the keyboard, a too long name is refused
// in Russian under the name, then the sub-user's points and modules are changed (the kkms
// module granted too), and the sub-user (a second browser context) sees only the new point's
// KKM and may register one; a group's name, points
// and modules edited; a point of sale renamed and listed with its new name. axe-core on each
// edit screen. SCREENSHOTS=1 writes the edit screens to docs/screenshots/ (the README shows them).
import t from 'tap';
import type { Page } from 'playwright-core';
import {
  accessible,
  cabinetBrowser,
  cabinetServer,
  openSection,
  shot,
  text,
} from '../helpers/browser.js';
import { ORG_PASSWORD, cabinetClient } from '../helpers/cabinet.js';

t.setTimeout(240_000);
const { server, base } = await cabinetServer(t);
const cabinet = cabinetClient(server);

// ---- an organization with two points, one KKM at each ------------------------------------------
const BIN = '200740034567';
const org = await server.admin('POST', '/api/v1/admin/orgs', {
  bin: BIN,
  title: 'ТОО «Жібек жолы»',
  address: 'г. Шымкент, ул. Байтурсынова, 7',
  okved: '47111',
  password: ORG_PASSWORD,
});
const pointIds: number[] = [];
const kkmIds: number[] = [];
for (const [title, serialNumber] of [
  ['Магазин на Байтурсынова', 'SWK00051001'],
  ['Магазин на Тауке хана', 'SWK00051002'],
] as const) {
  const point = await server.admin('POST', `/api/v1/admin/orgs/${org.json.id}/points`, {
    title,
    address: 'г. Шымкент',
  });
  pointIds.push(point.json.id as number);
  const kkm = await server.admin('POST', `/api/v1/admin/points/${point.json.id}/kkms`, {
    serialNumber,
    model: 'Меркурий-115Ф',
    fnsKkmId: `0202${serialNumber.slice(-8)}`,
  });
  kkmIds.push(kkm.json.id as number);
}
const [first, second] = pointIds as [number, number];
const ownerToken = await cabinet.login(BIN);
const sub = await cabinet.createSubUser(ownerToken, {
  pointIds: [first],
  permissions: ['transactions'],
});

/** Uncaught exceptions in any page of a context: none, at the end. */
const { loggedIn, thrown } = await cabinetBrowser(t, base);
const owner = await loggedIn(BIN, ORG_PASSWORD);
const { page } = owner;
const section = (name: string) => openSection(page, name);
/** The focused element's text once it is `expected`, or whatever holds the focus after 5 s. */
async function focusedText(p: Page, expected: string): Promise<string> {
  await p
    .waitForFunction((want) => document.activeElement?.textContent === want, expected, {
      timeout: 5_000,
    })
    .catch(() => undefined);
  return p.evaluate(() => document.activeElement?.textContent ?? '');
}

/**
 * The sub-user's KKMs in the cabinet, as a second browser context sees them, and whether it is
 * offered to register one (the kkms module).
 */
async function subUserKkms(): Promise<{ ids: string[]; mayRegister: boolean }> {
  const session = await loggedIn(sub.login, sub.password);
  await session.page.getByTestId('kkm-table').waitFor();
  const rows = session.page.locator('[data-testid="kkm-table"] tbody tr');
  const ids: string[] = [];
  for (let i = 0; i < (await rows.count()); i++) {
    ids.push((await rows.nth(i).getAttribute('data-kkm')) ?? '');
  }
  const register = session.page.getByRole('button', { name: 'Зарегистрировать ККМ' });
  const mayRegister = (await register.count()) > 0;
  await session.context.close();
  return { ids, mayRegister };
}

t.test('before the edit the sub-user sees the first point only', async (t) => {
  const seen = await subUserKkms();
  t.same(seen.ids, [String(kkmIds[0])]);
  t.notOk(seen.mayRegister, 'without the kkms module it is not offered to register a KKM');
});

t.test("Пользователи: a sub-user's points and modules edited", async (t) => {
  await section('Пользователи');
  const edit = page.getByRole('button', { name: `Изменить пользователя ${sub.login}` });
  // From the keyboard: focus the row's button and press Enter; the form's title takes focus.
  await edit.focus();
  await page.keyboard.press('Enter');
  const form = page.getByRole('form', { name: `Пользователь ${sub.login}` });
  await form.waitFor();
  const title = `Пользователь ${sub.login}`;
  t.equal(await focusedText(page, title), title, 'the edit title has the focus');
  t.equal(await form.getByLabel('Логин', { exact: true }).count(), 0, 'the login is not edited');
  const points = form.getByRole('group', { name: 'Торговые точки' });
  const modules = form.getByRole('group', { name: 'Личный кабинет (модули)' });
  t.ok(await points.getByLabel('Магазин на Байтурсынова').isChecked(), 'its point is ticked');
  t.ok(await modules.getByLabel('Транзакции').isChecked(), 'its module is ticked');
  t.notOk(await modules.getByLabel('Отчеты').isChecked());
  t.notOk(await modules.getByLabel('Кассы').isChecked(), 'the kkms module is offered, not ticked');
  await accessible(t, page, 'Пользователи, the edit');

  // A name longer than the API takes: its refusal, in Russian, under the name.
  await form.getByLabel('ФИО').fill('Я'.repeat(201));
  await points.getByLabel('Магазин на Байтурсынова').uncheck();
  await points.getByLabel('Магазин на Тауке хана').check();
  await modules.getByLabel('Отчеты').check();
  await modules.getByLabel('Кассы').check();
  await form.getByRole('button', { name: 'Сохранить' }).click();
  const nameError = page
    .locator('.field', { has: page.getByLabel('ФИО', { exact: true }) })
    .getByRole('alert');
  await nameError.waitFor();
  t.equal(text(await nameError.innerText()), 'Недопустимая длина.', 'refused under the name');
  t.equal(await form.getByLabel('ФИО').getAttribute('aria-invalid'), 'true');
  t.notMatch(await page.locator('main').innerText(), /must NOT|body\//, 'no server English');
  const unchanged = await cabinet.call('GET', `/api/v1/users/${sub.id}`, { token: ownerToken });
  t.same(unchanged.json.pointIds, [first], 'nothing stored by the refused edit');
  await shot(page, 'user-edit');
  await accessible(t, page, 'Пользователи, the refused edit');

  await form.getByLabel('ФИО').fill('Данияр Оспанов');
  await form.getByRole('button', { name: 'Сохранить' }).click();
  await page.getByText(`Пользователь ${sub.login} сохранён.`).waitFor();
  const row = page.getByRole('row', { name: new RegExp(sub.login) });
  await row.filter({ hasText: 'Данияр Оспанов' }).waitFor();
  t.match(text(await row.innerText()), /Магазин на Тауке хана Транзакции, Отчеты, Кассы/);
  const stored = await cabinet.call('GET', `/api/v1/users/${sub.id}`, { token: ownerToken });
  t.same(stored.json.pointIds, [second], 'the new point stored');
  t.same(stored.json.permissions, ['transactions', 'reports', 'kkms'], 'the modules stored');
  t.equal(stored.json.name, 'Данияр Оспанов');
});

t.test('after the edit the sub-user sees only the new point', async (t) => {
  const seen = await subUserKkms();
  t.same(seen.ids, [String(kkmIds[1])]);
  t.ok(seen.mayRegister, 'granted kkms in the browser, it is offered to register a KKM');
});

t.test("Пользователи: a sub-user's new password, then its login with it", async (t) => {
  await page.getByRole('button', { name: `Изменить пользователя ${sub.login}` }).click();
  const form = page.getByRole('form', { name: `Пользователь ${sub.login}` });
  await form.getByLabel('Новый пароль').fill('Novyi-pass1!');
  await form.getByLabel('Повторите пароль').fill('Novyi-pass1!');
  await form.getByRole('button', { name: 'Сохранить' }).click();
  await page.getByText(`Пользователь ${sub.login} сохранён.`).waitFor();
  const old = await cabinet.call('POST', '/api/v1/auth/login', {
    body: { login: sub.login, password: sub.password },
  });
  t.equal(old.status, 401, 'the old password no longer logs in');
  const session = await loggedIn(sub.login, 'Novyi-pass1!');
  t.pass('the new one does');
  await session.context.close();
});

t.test("Группы: a group's name, points and modules edited", async (t) => {
  const made = await cabinet.call('POST', '/api/v1/groups', {
    token: ownerToken,
    body: { name: 'Кассиры', permissions: ['transactions'], pointIds: [first] },
  });
  t.equal(made.status, 201);
  await section('Группы');
  await page.getByRole('button', { name: 'Изменить группу Кассиры' }).click();
  const form = page.getByRole('form', { name: 'Группа Кассиры' });
  await form.waitFor();
  await accessible(t, page, 'Группы, the edit');
  await form.getByLabel('Имя группы').fill('Старшие кассиры');
  await form
    .getByRole('group', { name: 'Торговые точки' })
    .getByLabel('Магазин на Тауке хана')
    .check();
  await form
    .getByRole('group', { name: 'Личный кабинет (модули)' })
    .getByLabel('Аналитика')
    .check();
  await form.getByLabel(new RegExp(sub.login)).check();
  await shot(page, 'group-edit');
  await form.getByRole('button', { name: 'Сохранить' }).click();
  await page.getByText('Группа Старшие кассиры сохранена.').waitFor();
  const row = page.getByRole('row', { name: /Старшие кассиры/ });
  t.match(
    text(await row.innerText()),
    new RegExp(`Транзакции, Аналитика Магазин на Байтурсынова, Магазин на Тауке хана ${sub.login}`),
  );
  const stored = await cabinet.call('GET', `/api/v1/groups/${made.json.id}`, {
    token: ownerToken,
  });
  t.match(stored.json, {
    name: 'Старшие кассиры',
    pointIds: [first, second],
    permissions: ['transactions', 'analytics'],
    memberIds: [sub.id],
  });
  await accessible(t, page, 'Группы, edited');
});

t.test('Торговые точки: a point renamed and listed with its new name', async (t) => {
  await section('Торговые точки');
  await page.getByRole('button', { name: 'Изменить торговую точку Магазин на Тауке хана' }).click();
  const form = page.getByRole('form', { name: 'Торговая точка Магазин на Тауке хана' });
  await form.waitFor();
  await accessible(t, page, 'Торговые точки, the edit');
  await form.getByLabel('Название', { exact: true }).fill('Бутик на Тауке хана');
  await form.getByLabel('Область').fill('г. Шымкент');
  await form.getByLabel('Населённый пункт').fill('Шымкент');
  await form.getByLabel('Улица').fill('пр. Тауке хана');
  await form.getByLabel('Дом', { exact: true }).fill('41');
  await shot(page, 'point-edit');
  await form.getByRole('button', { name: 'Сохранить' }).click();
  await page.getByText('Торговая точка Бутик на Тауке хана сохранена.').waitFor();
  const row = page.getByRole('row', { name: /Бутик на Тауке хана/ });
  t.match(text(await row.innerText()), /г\. Шымкент, Шымкент, пр\. Тауке хана 41/);
  t.equal(await page.getByRole('row', { name: /Магазин на Тауке хана/ }).count(), 0);
  const listed = await cabinet.call('GET', '/api/v1/points', { token: ownerToken });
  t.equal(
    (listed.json.items as { id: number; title: string }[]).find((p) => p.id === second)?.title,
    'Бутик на Тауке хана',
    'stored',
  );
  await accessible(t, page, 'Торговые точки, renamed');
});

t.test('the cabinet threw nothing in the browser', async (t) => {
  t.same(thrown, []);
});
