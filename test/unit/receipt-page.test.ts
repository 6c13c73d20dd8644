// The receipt check's page rendered straight from a read-model value (no server): every kind
// of line and payment, names escaped, unknown enum values, a cancelled and an offline receipt,
// 64-bit columns as the engine answers them (strings), both languages.
import t from 'tap';
import {
  PAGE_START,
  receiptPage as pageRest,
  sellerFacts,
  problemPage,
} from '../../src/api/public/receipt-page.js';
import { moneyText } from '../../src/fiscal/money.js';
import type { ReceiptKey } from '../../src/fiscal/receipt-url.js';
import { ItemType, PaymentType } from '../../src/protocol/schema.js';
import { cachedEntry, cachedValues } from '../../src/storage/receipt-check-cache.js';

const key: ReceiptKey = {
  number: '10000000042',
  kgdNumber: '010100012345',
  total: 325_100,
  deviceTime: '2026-03-10 09:00:00',
};
const seller = sellerFacts({
  org: { title: 'ТОО «Ромашка» & <Co>', bin: '180540012345' },
  point: { title: 'Shop "1"', address: 'Abay 1' },
  kkm: { serialNumber: 'KKM-1', kgdNumber: key.kgdNumber },
});
const row = {
  total: '325100',
  kkm_id: 1,
  doc_seq: 7,
  org_id: 2,
  point_id: 3,
  ticket_number: key.number,
  operation: 2,
  is_offline: 0,
  offline_number: 0,
  taken: 230_000,
  change: '4900',
  discount: 10_000,
  markup: 5_000,
  'items.type': [
    ItemType.ITEM_TYPE_COMMODITY,
    ItemType.ITEM_TYPE_COMMODITY,
    ItemType.ITEM_TYPE_DISCOUNT,
    ItemType.ITEM_TYPE_MARKUP,
    ItemType.ITEM_TYPE_STORNO_COMMODITY,
    99,
  ],
  'items.name': ['Чай <зелёный> & "мята"', 'Сахар', 'Карта', 'Упаковка', 'Хлеб', 'Странное'],
  'items.quantity': ['2000', '1500', '0', '0', '1000', '0'],
  'items.price': [150_050, 20_000, 0, 0, 7_000, 0],
  'items.sum': [300_100, 30_000, 10_000, 5_000, 7_000, 100],
  'items.tax_percent': [12_000, 0, 0, 0, 12_000, 0],
  'items.tax_sum': [32_154, 0, 0, 0, 750, 0],
  'payments.type': [PaymentType.PAYMENT_CARD, PaymentType.PAYMENT_CASH, 9],
  'payments.sum': [100_000, '225100', 1],
  'taxes.type': [100, 200],
  'taxes.percent': [12_000, 5_500],
  'taxes.sum': [32_154, 10],
  'taxes.turnover': [300_100, 100],
  cancelled_at: null,
};
const valuesOf = (r: Record<string, unknown>) => cachedValues(cachedEntry(key, r).value);
/** The whole page, as the route sends it: the constant start, then the rest. */
const receiptPage = (...args: Parameters<typeof pageRest>) =>
  PAGE_START[args[3]].toString() + pageRest(...args);

t.test('every kind of line, payment and tax, escaped, in Russian', async (t) => {
  const html = receiptPage(valuesOf(row), key, seller, 'ru', '/receipt');
  t.ok(html.startsWith('<!doctype html><html lang="ru">'));
  t.notMatch(html, /<script/i);
  for (const text of [
    '<title>Проверка чека № 10000000042</title>',
    '<dd>ТОО «Ромашка» &amp; &lt;Co&gt;</dd>',
    '<dd>Shop &quot;1&quot;</dd>',
    '<dt>Фискальный номер чека</dt><dd>10000000042</dd>',
    '<dd>10.03.2026 09:00:00</dd>',
    '<dd>Продажа</dd>',
    `<tr><td>Чай &lt;зелёный&gt; &amp; &quot;мята&quot;</td><td>2</td><td>${moneyText(150_050)}</td>`,
    `<td>${moneyText(32_154)} (12%)</td>`,
    `<tr><td>Сахар</td><td>1,5</td><td>${moneyText(20_000)}</td><td>${moneyText(30_000)}</td><td>—</td></tr>`,
    `<tr><td>Скидка: Карта</td><td></td><td></td><td>${moneyText(10_000)}</td><td></td></tr>`,
    '<td>Наценка: Упаковка</td>',
    '<td>Сторно: Хлеб</td><td>1</td>',
    '<tr><td>Странное</td><td></td>',
    `<dt>Скидка</dt><dd>${moneyText(10_000)}</dd>`,
    `<dt>Наценка</dt><dd>${moneyText(5_000)}</dd>`,
    `<dt>Оплата: Банковская карта</dt><dd>${moneyText(100_000)}</dd>`,
    `<dt>Оплата: Наличные</dt><dd>${moneyText(225_100)}</dd>`,
    '<dt>Оплата: unknown_9</dt>',
    `<dt>Получено</dt><dd>${moneyText(230_000)}</dd><dt>Сдача</dt><dd>${moneyText(4_900)}</dd>`,
    `<dl class="total"><dt>Итого</dt><dd>${moneyText(325_100)} ₸</dd></dl>`,
    `<dt>в т.ч. НДС 12%</dt><dd>${moneyText(32_154)}</dd>`,
    '<dt>в т.ч. Налог 200 5,5%</dt>',
    'href="/receipt?i=10000000042&amp;f=010100012345&amp;s=3251.00&amp;t=20260310T090000&amp;lang=kk"',
  ]) {
    t.ok(html.includes(text), text);
  }
  t.notOk(html.includes('аннулирован'));
  t.notOk(html.includes('class="mark"'));
});

t.test('cancelled, offline, an unknown operation; in Kazakh', async (t) => {
  const values = valuesOf({
    ...row,
    operation: 9,
    is_offline: 1,
    offline_number: 1773133200,
    taken: 0,
    discount: 0,
    markup: 0,
    'taxes.type': [],
    cancelled_at: '2026-03-11 10:00:05',
  });
  const ru = receiptPage(values, key, seller, 'ru', '/receipt');
  t.ok(ru.includes('<p class="status cancelled">Чек аннулирован 11.03.2026 10:00:05</p>'));
  t.ok(ru.includes('<span class="mark">А</span> Чек сформирован в автономном режиме'));
  t.ok(ru.includes('(автономный номер 1773133200)'));
  t.ok(ru.includes('<dt>Операция</dt><dd>unknown_9</dd>'));
  t.notOk(ru.includes('Получено'), 'nothing taken: no taken and change');
  t.notOk(ru.includes('class="taxes"'), 'no taxes: no taxes section');
  t.notOk(ru.includes('<dt>Скидка</dt>'));
  const kk = receiptPage(values, key, seller, 'kk', '/receipt');
  t.ok(kk.startsWith('<!doctype html><html lang="kk">'));
  for (const text of [
    'Чекті тексеру',
    'Чектің күші жойылды',
    'Ұйым',
    'Барлығы',
    'Жеңілдік: Карта',
  ]) {
    t.ok(kk.includes(text), text);
  }
  t.ok(kk.includes('hreflang="ru"'));
});

t.test('the problem pages', async (t) => {
  const page = problemPage('notFound', 'kk', '/receipt', key);
  t.ok(page.includes('<title>Чек табылмады</title>'));
  t.ok(page.includes('hreflang="ru"'));
  t.notOk(problemPage('badRequest', 'ru', '/receipt', null).includes('<nav>'), 'no key: no links');
});
