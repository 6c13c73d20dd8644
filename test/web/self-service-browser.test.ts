// The self-service screens of the web cabinet in a real browser (headless Chromium through
// playwright-core) against a real server on embedded defaults, as cabinet-browser.test.ts
// sets them up: the organization viewed and edited (a refusal in words under its field, a
// user without the permission sees no edit), a point of sale added and listed, a KKM
// registration application filed and found in Документы, a KKM deregistered (and one with an
// open shift refused, in words). The API's refusals are shown in the cabinet's language from
// its own dictionary, never the server's English. axe-core on each screen. SCREENSHOTS=1
// writes the screens to docs/screenshots/ (the README shows them).
import t from 'tap';
import type { Page } from 'playwright-core';
import {
  accessible,
  buildWebCabinet,
  cabinetBrowser,
  openSection,
  shot,
  text,
} from '../helpers/browser.js';
import { ORG_PASSWORD, cabinetClient } from '../helpers/cabinet.js';
import { sell } from '../helpers/reads.js';
import { startSelfServiceServer, uniqueId } from '../helpers/self-service.js';
import { seededRandom } from '../../src/sim/documents.js';

t.setTimeout(240_000);
const web = await buildWebCabinet();
t.teardown(() => web.remove());
// The self-service server: its SMS and e-mail codes go to a gateway the test reads.
const selfService = await startSelfServiceServer({ OFD_WEB_DIR: web.dir });
t.teardown(() => selfService.stop());
const { server } = selfService;
const base = `http://127.0.0.1:${server.httpPort}`;
const cabinet = cabinetClient(server);

// ---- an organization with one point and two KKMs: A with an open shift, B without documents
const BIN = '190640023456';
const org = await server.admin('POST', '/api/v1/admin/orgs', {
  bin: BIN,
  title: 'ИП «Дастархан»',
  address: 'г. Астана, ул. Кенесары, 5',
  okved: '47111',
  password: ORG_PASSWORD,
});
const point = await server.admin('POST', `/api/v1/admin/orgs/${org.json.id}/points`, {
  title: 'Магазин на Кенесары',
  address: 'г. Астана, ул. Кенесары, 5',
});
async function kkm(serialNumber: string) {
  const k = await server.admin('POST', `/api/v1/admin/points/${point.json.id}/kkms`, {
    serialNumber,
    model: 'Меркурий-115Ф',
    fnsKkmId: `0101${serialNumber.slice(-8)}`,
  });
  const token = await server.admin('POST', `/api/v1/admin/kkms/${k.json.id}/token`);
  return {
    kkmId: k.json.id as number,
    token: token.json.token as number,
    orgId: org.json.id as number,
    pointId: point.json.id as number,
    bin: BIN,
  };
}
const a = await kkm('SWK00041001');
const b = await kkm('SWK00041002');
const ownerToken = await cabinet.login(BIN);
// A sells once: its shift stays open, so deregistering it is refused.
await sell(server.tcpDevice(a), seededRandom(7), new Date('2026-03-10T09:00:00Z'));
for (let i = 0; ; i++) {
  const kkms = await cabinet.call('GET', '/api/v1/kkms', { token: ownerToken });
  const found = (kkms.json.items as { id: number; openShift: unknown }[]).find(
    (k) => k.id === a.kkmId,
  );
  if (found?.openShift) break;
  if (i > 100) throw new Error('the shift of KKM A never showed as open');
  await new Promise((r) => setTimeout(r, 100));
}

/** Exceptions the cabinet threw in the browser: none, at the end. */
const { open, loggedIn, thrown } = await cabinetBrowser(t, base);

/** The error under a labelled field (its role=alert inside the same .field). */
const errorUnder = (page: Page, label: string) =>
  page.locator('.field', { has: page.getByLabel(label, { exact: true }) }).getByRole('alert');

const owner = await loggedIn(BIN, ORG_PASSWORD);
const { page } = owner;

t.test('Организация: the card, edited, a refusal in words under its field', async (t) => {
  await openSection(page, 'Организация');
  const card = page.getByTestId('organization');
  await card.waitFor();
  t.match(text(await card.innerText()), new RegExp(`ИИН/БИН ${BIN} Наименование ИП «Дастархан»`));
  await accessible(t, page, 'Организация');

  await page.getByRole('button', { name: 'Редактировать' }).click();
  await page.getByLabel('БИК', { exact: true }).fill('HSBKKZKX');
  await page.getByLabel('ИИК', { exact: true }).fill('KZ12');
  await page.getByLabel('Электронная почта').fill('dastarkhan@example.kz');
  await page.getByRole('button', { name: 'Сохранить' }).click();
  const iikError = errorUnder(page, 'ИИК');
  await iikError.waitFor();
  t.equal(
    text(await iikError.innerText()),
    'ИИК: KZ и 18 цифр или прописных латинских букв.',
    "the API's refusal of bank/iik, in Russian, under the IIK",
  );
  t.equal(await page.getByLabel('ИИК', { exact: true }).getAttribute('aria-invalid'), 'true');
  t.notMatch(await page.locator('main').innerText(), /must match|body\//, 'no server English');
  await shot(page, 'organization-error');
  await accessible(t, page, 'Организация, the refused edit');

  await page.getByLabel('ИИК', { exact: true }).fill('KZ12601A123456789012');
  await page.getByRole('button', { name: 'Сохранить' }).click();
  await page.getByText('Сведения сохранены.').waitFor();
  t.match(text(await card.innerText()), /БИК HSBKKZKX, ИИК KZ12601A123456789012/);
  t.match(text(await card.innerText()), /dastarkhan@example\.kz/);
  const stored = await cabinet.call('GET', '/api/v1/organization', { token: ownerToken });
  t.same(stored.json.bank, { bik: 'HSBKKZKX', iik: 'KZ12601A123456789012' }, 'stored');
  t.equal(stored.json.email, 'dastarkhan@example.kz');
  await shot(page, 'organization');
});

t.test('English: the same refusal in English words', async (t) => {
  await page.getByLabel('Язык').selectOption('en');
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('Phone', { exact: true }).fill('12');
  await page.getByRole('button', { name: 'Save' }).click();
  const phoneError = errorUnder(page, 'Phone');
  await phoneError.waitFor();
  t.equal(text(await phoneError.innerText()), 'Phone: 10–15 digits, optionally with a leading +.');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByLabel('Language').selectOption('ru');
  await page.getByRole('heading', { name: 'Организация', level: 1 }).waitFor();
});

t.test('a user without the "organization" permission: no edit, the refusal in words', async (t) => {
  const sub = await cabinet.createSubUser(ownerToken, {
    pointIds: [point.json.id as number],
    permissions: ['transactions', 'reports'],
  });
  const user = await loggedIn(sub.login, sub.password);
  await openSection(user.page, 'Организация');
  await user.page
    .getByRole('alert')
    .filter({ hasText: 'У вашей учётной записи нет прав на это действие.' })
    .waitFor();
  t.equal(await user.page.getByRole('button', { name: 'Редактировать' }).count(), 0, 'no edit');
  await accessible(t, user.page, 'Организация without the permission');
  await user.context.close();
});

const NEW_POINT = 'Киоск на Сарыарке';
let newPointId = 0;

t.test('Торговые точки: a point added and listed; one with KKMs is not deleted', async (t) => {
  await openSection(page, 'Торговые точки');
  await page.getByRole('row', { name: /Магазин на Кенесары/ }).waitFor();
  await page.getByLabel('Название', { exact: true }).fill(NEW_POINT);
  await page.getByLabel('Область').fill('г. Астана');
  await page.getByLabel('Населённый пункт').fill('Астана');
  await page.getByLabel('Улица').fill('пр. Сарыарка');
  await page.getByLabel('Дом', { exact: true }).fill('12');
  await page.getByRole('button', { name: 'Добавить' }).click();
  await page.getByText(`Торговая точка ${NEW_POINT} создана.`).waitFor();
  const row = page.getByRole('row', { name: new RegExp(NEW_POINT) });
  t.match(text(await row.innerText()), /г\. Астана, Астана, пр\. Сарыарка 12/);
  const listed = await cabinet.call('GET', '/api/v1/points', { token: ownerToken });
  const created = (listed.json.items as { id: number; title: string }[]).find(
    (p) => p.title === NEW_POINT,
  );
  t.ok(created, 'the API lists the new point');
  newPointId = created!.id;

  await page.getByRole('button', { name: 'Удалить торговую точку Магазин на Кенесары' }).click();
  const refused = page.getByRole('row', { name: /Магазин на Кенесары/ }).getByRole('alert');
  await refused.waitFor();
  t.equal(
    text(await refused.innerText()),
    'В торговой точке есть ККМ: сначала перенесите или снимите их с учёта.',
    'the 409 point_has_kkms beside the point, in Russian',
  );
  await shot(page, 'points');
  await accessible(t, page, 'Торговые точки');
});

t.test('a KKM registration application, then in Документы', async (t) => {
  await openSection(page, 'Кассы');
  await page.getByRole('button', { name: 'Зарегистрировать ККМ' }).click();
  const form = page.getByRole('form', { name: 'Зарегистрировать ККМ' });
  await form.getByLabel('Торговая точка').selectOption(String(newPointId));
  await form.getByLabel('Заводской номер').fill('SWK00041003');
  await form.getByLabel('Модель').fill('Меркурий-185Ф');
  await form.getByLabel('Название').fill('Касса киоска');
  await form.getByLabel('Год выпуска').fill('1970');
  await form.getByRole('button', { name: 'Подать заявление' }).click();
  const yearError = errorUnder(page, 'Год выпуска');
  await yearError.waitFor();
  t.equal(text(await yearError.innerText()), 'Год выпуска: от 1990 до 2100.');
  await form.getByLabel('Год выпуска').fill('2025');
  await form.getByRole('button', { name: 'Подать заявление' }).click();
  const notice = form.getByRole('status');
  await notice.waitFor();
  const [, id] = /ID ККМ (\d+)/.exec(await notice.innerText()) ?? [];
  t.ok(id, `the new KKM's ID is said: ${await notice.innerText()}`);
  await accessible(t, page, 'Кассы, the registration form');

  await openSection(page, 'Документы');
  await page.getByLabel('ID ККМ').fill(String(id));
  await page.getByRole('button', { name: 'Показать' }).click();
  const row = page.getByRole('row', { name: /Заявление о регистрации ККМ/ });
  await row.waitFor();
  t.match(text(await row.innerText()), new RegExp(`^Заявление о регистрации ККМ ${id} `));
  t.match(text(await row.innerText()), /Зарегистрирована|Ожидает регистрации в КГД/);
  const download = page.waitForEvent('download');
  await row.getByRole('button', { name: /Скачать/ }).click();
  t.match((await download).suggestedFilename(), /^application-\d+\.json$/);
  await shot(page, 'documents');
  await accessible(t, page, 'Документы');
});

t.test('deregistration: refused while a shift is open, then a KKM deregistered', async (t) => {
  const manage = async (kkmId: number) => {
    await page.goto(`${base}/#/kkms/${kkmId}`);
    await page.getByRole('button', { name: 'Управление' }).click();
    await page.getByRole('heading', { name: 'Снятие с учёта' }).waitFor();
  };
  await manage(a.kkmId);
  await page.getByLabel('Причина').fill('Замена кассы');
  await page.getByRole('button', { name: 'Снять с учёта' }).click();
  const refused = errorUnder(page, 'Причина');
  await refused.waitFor();
  t.equal(
    text(await refused.innerText()),
    'Смена открыта: сначала закройте её (Z-отчёт).',
    'the 409 shift_open under the reason, in Russian',
  );
  await accessible(t, page, 'ККМ, the refused deregistration');

  await manage(b.kkmId);
  await page.getByLabel('Причина').fill('Касса продана');
  await page.getByRole('button', { name: 'Снять с учёта' }).click();
  await page
    .getByText(/Заявление подано\. Статус: (Снята с учёта|Ожидает снятия с учёта в КГД)\./)
    .waitFor();
  const kkms = await cabinet.call('GET', '/api/v1/kkms', { token: ownerToken });
  const status = (kkms.json.items as { id: number; status: string }[]).find(
    (k) => k.id === b.kkmId,
  )?.status;
  t.ok(status === 'deregistered' || status === 'awaiting_kgd_deregistration', `B is ${status}`);
  await shot(page, 'kkm-deregistered');
  await accessible(t, page, 'ККМ, deregistered');

  await openSection(page, 'Документы');
  await page.getByLabel('ID ККМ').fill(String(b.kkmId));
  await page.getByRole('button', { name: 'Показать' }).click();
  await page.getByRole('row', { name: /Заявление о снятии ККМ с учёта/ }).waitFor();
  t.pass('the deregistration is in Документы');
});

t.test('registration of an entrepreneur by a one-time password, then the login', async (t) => {
  const { context, page: reg } = await open('registration');
  await reg.getByRole('link', { name: 'Регистрация' }).click();
  await reg.getByRole('heading', { name: 'Регистрация организации', level: 1 }).waitFor();
  const iin = uniqueId();
  const phone = '+77015550101';
  const email = `ip${iin}@example.kz`;
  await reg.getByLabel('ИИН', { exact: true }).fill(iin);
  await reg.getByLabel('Телефон', { exact: true }).fill(phone);
  await reg.getByRole('button', { name: 'Получить пароль' }).click();
  await reg.getByLabel('Код из SMS').waitFor();
  await reg.getByLabel('Код из SMS').fill(selfService.codeFor(phone));
  await reg.getByLabel('Наименование / ФИО').fill('ИП Сериков Арман');
  await reg.getByLabel('Электронная почта').fill(email);
  await reg.getByRole('button', { name: 'Получить код на почту' }).click();
  await reg.getByText('Код отправлен на почту.').waitFor();
  await reg.getByLabel('Код подтверждения почты').fill(selfService.codeFor(email));
  await reg.getByLabel('Пароль администратора').fill('short');
  await reg.getByLabel('Область').fill('г. Алматы');
  await reg.getByLabel('Населённый пункт').fill('Алматы');
  await reg.getByLabel('Улица').fill('ул. Толе би');
  await reg.getByLabel('Дом', { exact: true }).fill('3');
  await reg.getByLabel('Я принимаю условия договора').check();
  await reg.getByRole('button', { name: 'Зарегистрироваться' }).click();
  const passwordError = errorUnder(reg, 'Пароль администратора');
  await passwordError.waitFor();
  t.match(
    text(await passwordError.innerText()),
    /^Пароль не отвечает требованиям/,
    'the password policy refusal under the password, in Russian',
  );
  await shot(reg, 'registration-error');
  await accessible(t, reg, 'Регистрация, the refused password');
  await reg.getByLabel('Пароль администратора').fill('Arman-pass1!');
  await reg.getByRole('button', { name: 'Зарегистрироваться' }).click();
  await reg.getByText('Организация зарегистрирована.', { exact: false }).waitFor();
  await context.close();
  const owner = await loggedIn(iin, 'Arman-pass1!');
  t.pass('the new owner logs in with the IIN and the password');
  await owner.context.close();
});

t.test('ЦТО: a centre found by model, asked to serve a KKM', async (t) => {
  const centre = await server.admin('POST', '/api/v1/admin/service-centres', {
    bin: uniqueId(),
    title: 'ЦТО «Касса-Сервис»',
    models: ['Меркурий-115Ф'],
    password: ORG_PASSWORD,
  });
  await openSection(page, 'ЦТО');
  await page.getByLabel('Модель ККМ').fill('Меркурий-115Ф');
  await page.getByRole('button', { name: 'Найти' }).click();
  const row = page.getByRole('row', { name: /ЦТО «Касса-Сервис»/ });
  await row.getByRole('button', { name: 'Дать доступ' }).click();
  const form = page.getByRole('form', { name: /Дать доступ: ЦТО «Касса-Сервис»/ });
  await form.getByRole('button', { name: 'Дать доступ' }).click();
  await form.getByRole('alert').filter({ hasText: 'Выберите хотя бы одну ККМ.' }).waitFor();
  t.pass('no KKM chosen: refused in words beside the list');
  await form.getByLabel('SWK00041001').check();
  await form.getByRole('button', { name: 'Дать доступ' }).click();
  await form.getByText('Запрос отправлен, статус: ожидает ответа ЦТО.').waitFor();
  const grants = await cabinet.call('GET', '/api/v1/service-centre-grants', { token: ownerToken });
  t.match(grants.json.items, [
    { centreId: centre.json.id, kkmIds: [a.kkmId], modules: ['transactions', 'reports'] },
  ]);
  await shot(page, 'service-centres');
  await accessible(t, page, 'ЦТО');
});

t.test("a KKM's new token, and its re-registration to another point", async (t) => {
  await page.goto(`${base}/#/kkms/${a.kkmId}`);
  await page.getByRole('button', { name: 'Управление' }).click();
  await page.getByRole('button', { name: 'Получить токен' }).click();
  const issued = page.getByRole('status').filter({ hasText: 'Новый токен' });
  await issued.waitFor();
  const [, token, id] =
    /Новый токен: (\d+)\. ID ККМ для настройки кассы: (\d+)\./.exec(
      text(await issued.innerText()),
    ) ?? [];
  t.equal(Number(id), a.kkmId, 'the KKM ID to type into the register');
  t.not(Number(token), a.token, 'a new token');

  const rereg = page.getByRole('form', { name: /Перерегистрация/ });
  await rereg.getByLabel('Новая торговая точка').selectOption(String(point.json.id));
  await rereg.getByRole('button', { name: 'Перерегистрировать' }).click();
  await rereg
    .getByRole('alert')
    .filter({ hasText: 'ККМ уже стоит в этой торговой точке.' })
    .waitFor();
  t.pass('to its own point: the 409 point_targeted in words');
  await rereg.getByLabel('Новая торговая точка').selectOption(String(newPointId));
  await rereg.getByRole('button', { name: 'Перерегистрировать' }).click();
  await page.getByText(/Заявление подано\. Статус: Перерегистрирована\./).waitFor();
  const kkms = await cabinet.call('GET', '/api/v1/kkms', { token: ownerToken });
  const moved = (kkms.json.items as { id: number; pointId: number }[]).find(
    (k) => k.id === a.kkmId,
  );
  t.equal(moved?.pointId, newPointId, 'A stands at the new point');
  await accessible(t, page, 'ККМ, re-registered');
});

t.test('the cabinet threw nothing in the browser', async (t) => {
  t.same(thrown, []);
});
