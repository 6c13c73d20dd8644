// The buyer's receipt check against a real server: receipts sent by a KKM over TCP, then the
// QR URL of each TICKET answer opened as a page and as JSON — every field of the receipt, the
// cabinet's view of the same receipt, tampered and malformed QR facts, the rate limit, a
// cancelled and an offline receipt, Russian and Kazakh, ETag and Cache-Control; the read model
// in Redis (written by the commit, answering as the engine does, refilled after a flush).
import t from 'tap';
import { startTestServer } from '../helpers/server.js';
import { get, ownerToken, sell } from '../helpers/reads.js';
import { rows } from '../helpers/kkm.js';
import { fromTiyn, toTiyn } from '../../src/fiscal/money.js';
import { tenge } from '../../src/fiscal/money.js';
import { receiptUrl } from '../../src/fiscal/receipt-url.js';
import { ItemType, PaymentType, ResultCode } from '../../src/protocol/schema.js';
import { as203, requests, seededRandom, ticket, dateTime } from '../../src/sim/documents.js';
import { KkmDevice, TcpLink } from '../../src/sim/kkm-client.js';
import { rich203 } from '../helpers/receipts-203.js';
import { moneyText } from '../../src/fiscal/money.js';
import { parseReceiptQuery, type ReceiptKey } from '../../src/fiscal/receipt-url.js';
import { ReceiptCheckCache } from '../../src/storage/receipt-check-cache.js';
import { ReceiptLookup } from '../../src/storage/receipt-lookup.js';
import { deleteKeys } from '../harness/redis-keys.js';
import { createHttpApp } from '../../src/api/http/app.js';
import { securityHeaders } from '../../src/api/security-headers.js';
import { receiptCheckRoutes } from '../../src/api/public/receipt-routes.js';

const RATE_MAX = 30;
const server = await startTestServer({
  OFD_RECEIPT_RATE_MAX: String(RATE_MAX),
  OFD_RECEIPT_RATE_WINDOW_MS: '60000',
  // Answers are cached (and max-age) for a second, so a cancellation shows a second later.
  OFD_RECEIPT_CACHE_TTL_MS: '1000',
});
t.teardown(() => server.stop());

const prefix = server.config.redisPrefix;
/** The read model as the server keeps it (get only: the days do not matter here). */
const readModel = new ReceiptCheckCache(server.redis, prefix, 1);
const keyOf = (url: string): ReceiptKey => {
  const parsed = parseReceiptQuery(Object.fromEntries(new URL(url).searchParams));
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.key;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Polls (the read model is written just after the commit's acknowledgements) for up to 2 s. */
async function cachedRow(url: string, until: (row: Record<string, unknown> | null) => boolean) {
  let row = await readModel.get(keyOf(url));
  for (let i = 0; i < 40 && !until(row); i++) {
    await sleep(50);
    row = await readModel.get(keyOf(url));
  }
  return row;
}
/** QR URLs of the receipts the tests below store, for the read-model tests at the end. */
const checked: string[] = [];

let addressCounter = 0;
/** Each check comes from an address of its own unless told, so only the rate test hits 429. */
async function open(url: string, headers: Record<string, string> = {}, remoteAddress?: string) {
  const { pathname, search } = new URL(url, 'http://x');
  const res = await server.app!.inject({
    method: 'GET',
    url: pathname + search,
    headers,
    remoteAddress:
      remoteAddress ?? `10.1.${Math.floor(++addressCounter / 250)}.${addressCounter % 250}`,
  });
  return res;
}
const jsonUrl = (qr: string) => `/api/v1/public/receipts${new URL(qr).search}`;
const withParam = (qr: string, name: string, value: string | null) => {
  const u = new URL(qr);
  if (value === null) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.toString();
};

const kkm = await server.registerKkm();
const dev = server.tcpDevice(kkm);
const registered = (await server.registry.kkms.getKkm(kkm.kkmId))!;
const kgd = registered.fnsKkmId;
const serial = registered.serialNumber;

// A receipt with every kind of line: a taxed commodity, a tax-free fractional quantity, a
// discount and a markup; paid by card and cash with change.
const at = new Date('2026-03-10T09:00:00Z');
const receipt = {
  operation: 2, // OPERATION_SELL
  date_time: dateTime(at),
  operator: { code: 1, name: 'Cashier' },
  items: [
    {
      type: ItemType.ITEM_TYPE_COMMODITY,
      commodity: {
        name: 'Чай зелёный',
        section_code: '1',
        quantity: 2000,
        price: fromTiyn(150_050),
        sum: fromTiyn(300_100),
        taxes: [
          {
            tax_type: 100,
            taxation_type: 101,
            percent: 12000,
            sum: fromTiyn(32_154),
            is_in_total_sum: true,
          },
        ],
        barcode: '4870001234567',
        measure_unit_code: '796',
      },
    },
    {
      type: ItemType.ITEM_TYPE_COMMODITY,
      commodity: {
        name: 'Сахар',
        section_code: '2',
        quantity: 1500,
        price: fromTiyn(20_000),
        sum: fromTiyn(30_000),
        taxes: [],
        measure_unit_code: '166',
      },
    },
    {
      type: ItemType.ITEM_TYPE_DISCOUNT,
      discount: { name: 'Карта клиента', sum: fromTiyn(10_000) },
    },
    { type: ItemType.ITEM_TYPE_MARKUP, markup: { name: 'Упаковка', sum: fromTiyn(5_000) } },
  ],
  payments: [
    { type: PaymentType.PAYMENT_CARD, sum: fromTiyn(100_000) },
    { type: PaymentType.PAYMENT_CASH, sum: fromTiyn(225_100) },
  ],
  amounts: { total: fromTiyn(325_100), taken: fromTiyn(230_000), change: fromTiyn(4_900) },
};
const answer = await dev.send(requests.ticket(receipt));
if (answer.response.result.result_code !== ResultCode.RESULT_TYPE_OK) {
  throw new Error(`ticket refused: ${answer.response.result.result_text}`);
}
const number = answer.response.ticket!.ticket_number!;
const qr = Buffer.from(answer.response.ticket!.qr_code!).toString('utf8');
checked.push(qr);

t.test('the QR code names the fiscal number, the KGD number, the total and the time', async (t) => {
  const u = new URL(qr);
  t.equal(u.origin + u.pathname, server.config.receiptUrl);
  t.same([...u.searchParams.keys()], ['i', 'f', 's', 't']);
  t.equal(u.searchParams.get('i'), number);
  t.equal(u.searchParams.get('f'), kgd, 'f is the KGD registration number, not our id');
  t.not(u.searchParams.get('f'), String(kkm.kkmId));
  t.equal(u.searchParams.get('s'), '3251.00');
  t.equal(u.searchParams.get('t'), '20260310T090000');
  t.equal(tenge(1), '0.01');
  t.equal(tenge(900_719_925_474_099), '9007199254740.99', 'integers only, to the tiyn');
});

t.test('the QR URL opens the page with every field of the receipt', async (t) => {
  const res = await open(qr);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/);
  t.match(res.headers['content-security-policy'], /default-src 'none'/);
  const html = res.body;
  t.notMatch(html, /<script/i, 'no scripts');
  for (const text of [
    '<html lang="ru">',
    'Проверка чека',
    'Чек зарегистрирован в ОФД',
    'ТОО Test',
    kkm.bin,
    'Shop 1',
    'Abay 1',
    serial,
    kgd,
    number,
    '10.03.2026 09:00:00',
    'Продажа',
    'Чай зелёный',
    'Сахар',
    '1,5',
    'Скидка: Карта клиента',
    'Наценка: Упаковка',
    'Оплата: Банковская карта',
    'Оплата: Наличные',
    'Получено',
    'Сдача',
    'Итого',
    'в т.ч. НДС 12%',
  ]) {
    t.ok(html.includes(text), `page shows ${text}`);
  }
  // Money to the tiyn: prices, sums, VAT, payments, taken, change and the total.
  for (const tiyn of [150_050, 300_100, 32_154, 20_000, 30_000, 10_000, 5_000, 100_000]) {
    t.ok(html.includes(moneyText(tiyn)), `page shows ${moneyText(tiyn)}`);
  }
  for (const tiyn of [225_100, 230_000, 4_900, 325_100]) {
    t.ok(html.includes(moneyText(tiyn)), `page shows ${moneyText(tiyn)}`);
  }
  t.equal(moneyText(325_100), '3\u00a0251,00');
  t.notOk(html.includes('class="mark"'), 'an online receipt has no offline mark');
  t.notOk(html.includes('аннулирован'), 'not cancelled');
  t.notOk(html.includes('Cashier'), 'nothing beyond the receipt: no cashier');
});

t.test('the JSON is the cabinet receipt view of the same receipt', async (t) => {
  const res = await open(jsonUrl(qr));
  t.equal(res.statusCode, 200);
  const pub = res.json();
  const token = await ownerToken(server, kkm.bin);
  const cab = await get(server, `/api/v1/kkms/${kkm.kkmId}/tickets/${number}`, token);
  t.equal(cab.status, 200);
  const c = cab.json;
  t.same(Object.keys(pub), ['org', 'point', 'kkm', 'ticket']);
  t.same(pub.org, { title: 'ТОО Test', bin: kkm.bin });
  t.same(pub.point, { title: 'Shop 1', address: 'Abay 1' });
  t.same(pub.kkm, { serialNumber: serial, kgdNumber: kgd });
  // Every part of each line and payment, 2.0.3's included (NTIN, excise stamps, measure unit
  // code, card and mobile details).
  t.strictSame(pub.ticket.items, c.items);
  t.strictSame(pub.ticket.payments, c.payments);
  t.strictSame(pub.ticket.taxes, c.taxes);
  t.equal(pub.ticket.number, c.ticketNumber);
  t.equal(pub.ticket.dateTime, c.dateTime);
  t.equal(pub.ticket.operation, c.operation);
  t.equal(pub.ticket.offline, c.offline);
  t.equal(pub.ticket.cancelled, c.annulled);
  t.equal(pub.ticket.total, c.amounts.total);
  t.equal(pub.ticket.taken, c.amounts.taken);
  t.equal(pub.ticket.change, c.amounts.change);
  t.equal(pub.ticket.total, 325_100, 'money in tiyn');
  t.equal(pub.ticket.items.length, 4);
  t.notOk('customer' in pub.ticket || 'cashier' in pub.ticket, 'no customer, no cashier');
  t.equal(pub.ticket.cancelledAt, null);
});

t.test(
  'a 2.0.3 receipt: NTIN, stamps, card and mobile details as the cabinet shows them',
  async (t) => {
    const kkm203 = await server.registerKkm();
    const link = new TcpLink(server.tcp!.port);
    t.teardown(() => link.close());
    const dev203 = new KkmDevice(kkm203.kkmId, kkm203.token, link.send, 203);
    const sent = await dev203.send(
      as203(requests.ticket(rich203(41, new Date('2026-03-10T10:00:00Z')))),
    );
    t.equal(sent.response.result.result_code, ResultCode.RESULT_TYPE_OK);
    const qr203 = Buffer.from(sent.response.ticket!.qr_code!).toString('utf8');
    checked.push(qr203);
    const res = await open(jsonUrl(qr203));
    t.equal(res.statusCode, 200);
    const pub = res.json();
    const token = await ownerToken(server, kkm203.bin);
    const cab = await get(
      server,
      `/api/v1/kkms/${kkm203.kkmId}/tickets/${sent.response.ticket!.ticket_number}`,
      token,
    );
    t.equal(cab.status, 200);
    t.strictSame(pub.ticket.items, cab.json.items);
    t.strictSame(pub.ticket.payments, cab.json.payments);
    t.equal(pub.ticket.items[0].ntin, '0487000141');
    t.strictSame(pub.ticket.items[0].exciseStamps, ['STAMP-41-A', 'STAMP-41-B']);
    t.equal(pub.ticket.items[1].quantity, 5_000_000_000, 'a 64-bit quantity');
    t.equal(pub.ticket.payments[0].card.terminalId, 'T-41');
    t.strictSame(pub.ticket.payments[1].mobile, { qrType: 'KASPI_QR', qrId: 'kqr-41' });
  },
);

t.test('each tampered fact answers 404, the page says no such receipt', async (t) => {
  const bump = (digits: string) =>
    digits.slice(0, -1) + String((Number(digits.slice(-1)) + 1) % 10);
  const other = await sell(dev, seededRandom(7), new Date('2026-03-10T09:30:00Z'));
  const tampered: [string, string][] = [
    ['i', bump(number)],
    ['i', other.number],
    ['f', `${kgd}X`],
    ['f', String(kkm.kkmId)],
    ['s', '3251.01'],
    ['s', '3250.00'],
    ['t', '20260310T090001'],
    ['t', '20260311T090000'],
  ];
  for (const [name, value] of tampered) {
    const url = withParam(qr, name, value);
    const page = await open(url);
    t.equal(page.statusCode, 404, `${name}=${value}: page 404`);
    t.ok(page.body.includes('Чек не найден'), `${name}=${value}: says not found`);
    t.notOk(page.body.includes('ТОО Test'), `${name}=${value}: reveals nothing`);
    t.equal(page.headers['cache-control'], 'no-cache');
    const json = await open(jsonUrl(url));
    t.equal(json.statusCode, 404, `${name}=${value}: JSON 404`);
    t.same(Object.keys(json.json()), ['error', 'message']);
  }
  t.equal((await open(other.qr)).statusCode, 200, 'the other receipt opens with its own QR');
});

t.test('a missing or malformed fact answers 400', async (t) => {
  const malformed: [string, string | null][] = [
    ['i', null],
    ['f', null],
    ['s', null],
    ['t', null],
    ['i', 'abc'],
    ['i', ''],
    ['f', ''],
    ['s', '3251'],
    ['s', '3251.0'],
    ['s', '3251,00'],
    ['s', '-3251.00'],
    ['s', '99999999999999999.00'],
    ['t', '2026-03-10T09:00:00'],
    ['t', '20260231T090000'],
    ['t', '20260310T250000'],
  ];
  for (const [name, value] of malformed) {
    const url = withParam(qr, name, value);
    const page = await open(url);
    t.equal(page.statusCode, 400, `${name}=${value}: page 400`);
    t.ok(page.body.includes('Неверная ссылка проверки чека'));
    t.equal((await open(jsonUrl(url))).statusCode, 400, `${name}=${value}: JSON 400`);
  }
  t.equal((await open(`${qr}&i=${number}`)).statusCode, 400, 'a repeated parameter');
});

t.test('answers carry an ETag and a short max-age; a revalidation gets 304', async (t) => {
  const first = await open(qr);
  t.equal(first.headers['cache-control'], 'public, max-age=1');
  t.match(first.headers.etag, /^"/);
  t.equal(first.headers.vary, 'accept-language');
  const again = await open(qr, { 'if-none-match': String(first.headers.etag) });
  t.equal(again.statusCode, 304);
  t.equal(again.body, '');
  const weak = await open(qr, { 'if-none-match': `"other", W/${first.headers.etag}` });
  t.equal(weak.statusCode, 304, 'a list and a weak validator');
  const kk = await open(`${qr}&lang=kk`, { 'if-none-match': String(first.headers.etag) });
  t.equal(kk.statusCode, 200, 'another language is another version');
  const json = await open(jsonUrl(qr));
  t.equal(json.headers['cache-control'], 'public, max-age=1', 'the JSON as well');
  t.not(json.headers.etag, first.headers.etag, 'page and JSON differ');
  const jsonAgain = await open(jsonUrl(qr), { 'if-none-match': String(json.headers.etag) });
  t.equal(jsonAgain.statusCode, 304);
});

t.test('the page carries every header helmet gives other answers, as constants', async (t) => {
  const page = await open(qr);
  const health = await server.app!.inject({ method: 'GET', url: '/healthz' });
  const own = ['content-type', 'content-length', 'content-security-policy', 'date', 'connection'];
  const names = Object.keys(health.headers).filter((h) => !own.includes(h));
  t.ok(names.includes('x-frame-options') && names.length >= 8, names.join(' '));
  for (const name of names) t.equal(page.headers[name], health.headers[name], name);
  t.equal(
    page.headers['content-security-policy'],
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'no script, no framing',
  );
  t.equal(page.headers['x-robots-tag'], 'noindex');
});

t.test('Russian and Kazakh: ?lang= first, else Accept-Language', async (t) => {
  const kk = await open(`${qr}&lang=kk`);
  t.equal(kk.statusCode, 200);
  for (const text of ['<html lang="kk">', 'Чекті тексеру', 'Ұйым', 'Сату', 'Барлығы', 'ҚҚС']) {
    t.ok(kk.body.includes(text), `kk page shows ${text}`);
  }
  t.ok(kk.body.includes(moneyText(325_100)));
  const byHeader = await open(qr, { 'accept-language': 'kk-KZ,kk;q=0.9,ru;q=0.8' });
  t.ok(byHeader.body.includes('<html lang="kk">'), 'Accept-Language kk');
  const ruHeader = await open(qr, { 'accept-language': 'ru-RU,ru;q=0.9,kk;q=0.5' });
  t.ok(ruHeader.body.includes('<html lang="ru">'), 'Accept-Language ru');
  const english = await open(qr, { 'accept-language': 'en-US' });
  t.ok(english.body.includes('<html lang="ru">'), 'anything else: Russian');
  const forced = await open(`${qr}&lang=ru`, { 'accept-language': 'kk' });
  t.ok(forced.body.includes('<html lang="ru">'), '?lang= wins over the header');
  const missing = await open(withParam(`${qr}&lang=kk`, 't', '20260310T090009'));
  t.equal(missing.statusCode, 404);
  t.ok(missing.body.includes('Чек табылмады'), 'the 404 page in Kazakh');
  t.ok(kk.body.includes('hreflang="ru"'), 'a link to the other language');
});

t.test('a cancelled receipt says it was cancelled, and when', async (t) => {
  const sold = await sell(dev, seededRandom(11), new Date('2026-03-10T10:00:00Z'));
  checked.push(sold.qr);
  const before = await open(jsonUrl(sold.qr));
  t.equal(before.json().ticket.cancelled, false);
  const cancel = await dev.send(requests.cancelTicket());
  t.equal(cancel.response.result.result_code, ResultCode.RESULT_TYPE_OK);
  const [stored] = await rows<{ at: string }>(
    server,
    `SELECT toString(device_time) AS at FROM documents
     WHERE kkm_id = {kkm:UInt32} AND doc_type = 'cancel_ticket'`,
    { kkm: kkm.kkmId },
  );
  const cancelledAt = stored!.at;
  // The commit of the cancellation rewrote the receipt's answer in the read model.
  const row = await cachedRow(sold.qr, (r) => !!r?.cancelled_at);
  t.equal(row?.cancelled_at, cancelledAt, 'the read model holds the cancellation');
  await sleep(1100); // the process's cached answer's lifetime
  const after = (await open(jsonUrl(sold.qr))).json();
  t.equal(after.ticket.cancelled, true);
  t.equal(after.ticket.cancelledAt, cancelledAt.replace(' ', 'T'));
  const page = (await open(sold.qr)).body;
  t.ok(page.includes('Чек аннулирован'), 'the page says cancelled');
  const [d, tm] = cancelledAt.split(' ') as [string, string];
  t.ok(page.includes(`${d.slice(8, 10)}.${d.slice(5, 7)}.${d.slice(0, 4)} ${tm}`), 'and when');
  t.ok((await open(`${sold.qr}&lang=kk`)).body.includes('Чектің күші жойылды'));
});

t.test(
  'an offline receipt is found once uploaded, with its mark, also by its own number',
  async (t) => {
    const offlineAt = new Date('2026-03-10T11:00:00Z');
    const request = ticket(seededRandom(13), {
      items: 2,
      at: offlineAt,
      offlineNumber: 1773133200,
    });
    // The QR code the KKM printed itself while offline: its own number, before any answer.
    const offlineQr = receiptUrl(server.config.receiptUrl, {
      number: '1773133200',
      kgdNumber: kgd,
      total: toTiyn(request.amounts!.total)!,
      deviceTime: '2026-03-10 11:00:00',
    });
    t.equal((await open(offlineQr)).statusCode, 404, 'not found before the upload');
    const up = await dev.send(requests.ticket(request));
    t.equal(up.response.result.result_code, ResultCode.RESULT_TYPE_OK);
    const ours = Buffer.from(up.response.ticket!.qr_code!).toString('utf8');
    checked.push(ours, offlineQr);
    for (const url of [ours, offlineQr]) {
      const page = await open(url);
      t.equal(page.statusCode, 200, `found: ${url}`);
      t.ok(page.body.includes('class="mark">А<'), 'the offline mark');
      t.ok(page.body.includes('автономном режиме'));
      t.ok(page.body.includes('1773133200'));
      const json = (await open(jsonUrl(url))).json();
      t.equal(json.ticket.offline, true);
      t.equal(json.ticket.offlineNumber, 1773133200);
      t.equal(json.ticket.number, up.response.ticket!.ticket_number);
    }
  },
);

t.test(
  'past the per-address rate limit: 429 with Retry-After, other addresses go on',
  async (t) => {
    const address = '10.9.9.9';
    let last = await open(qr, {}, address);
    for (let i = 1; i < RATE_MAX; i++) last = await open(i % 2 ? jsonUrl(qr) : qr, {}, address);
    t.equal(last.statusCode, 200, `${RATE_MAX} checks pass (page and JSON share the bucket)`);
    const over = await open(qr, {}, address);
    t.equal(over.statusCode, 429);
    t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After');
    t.ok(over.body.includes('Слишком много запросов'));
    const overJson = await open(jsonUrl(qr), {}, address);
    t.equal(overJson.statusCode, 429);
    t.equal((await open(qr, {}, '10.9.9.10')).statusCode, 200, 'another address');
    // The buckets live in Redis, under this deployment's prefix.
    const keys = await server.redis.keys(`${server.config.redisPrefix}rate:receipt:*`);
    t.ok(keys.length > 0);
  },
);

t.test('a committed receipt is in the Redis read model before anyone checks it', async (t) => {
  const sold = await sell(dev, seededRandom(17), new Date('2026-03-10T12:00:00Z'));
  checked.push(sold.qr);
  const row = await cachedRow(sold.qr, (r) => r !== null);
  t.ok(row, 'written by the commit');
  t.equal(row!.ticket_number, sold.number);
  t.equal(row!.cancelled_at, null);
  const key = keyOf(sold.qr);
  const hash = `${prefix}receipt-check:2:${kgd}:${key.deviceTime.slice(0, 10)}`;
  t.ok((await server.redis.ttl(hash)) > 29 * 86_400, 'kept OFD_RECEIPT_CHECK_CACHE_DAYS (30)');
  t.equal((await open(jsonUrl(sold.qr))).statusCode, 200);
});

t.test('an answer from the read model equals the one from the engine', async (t) => {
  const cached = new ReceiptLookup(server.db, readModel);
  const engine = new ReceiptLookup(server.db);
  t.ok(checked.length >= 6, 'online, 2.0.3, cancelled and offline (both numbers) receipts');
  for (const url of checked) {
    const key = keyOf(url);
    t.ok(await cachedRow(url, (r) => r !== null), `held in Redis: ${url}`);
    const fromEngine = await engine.find(key);
    t.ok(fromEngine, 'the engine has it');
    t.strictSame(await cached.find(key), fromEngine, `the same receipt: ${url}`);
    t.equal(await cached.find({ ...key, total: key.total + 1 }), null, 'a wrong total: none');
  }
});

t.test(
  'after Redis loses the read model, every check still answers, from the engine',
  async (t) => {
    const before = new Map<string, unknown>();
    for (const url of checked) before.set(url, (await open(jsonUrl(url))).json());
    t.ok((await deleteKeys(server.redis, `${prefix}receipt-check:`)) > 0, 'the read model is gone');
    t.equal(await readModel.get(keyOf(qr)), null);
    await sleep(1100); // the process's cached answers' lifetime
    for (const url of checked) {
      const res = await open(jsonUrl(url));
      t.equal(res.statusCode, 200, `still found: ${url}`);
      t.strictSame(res.json(), before.get(url), 'the same answer');
      t.ok(await cachedRow(url, (r) => r !== null), 'and cached again');
    }
    const cancelled = await cachedRow(checked[2]!, (r) => r !== null);
    t.ok(cancelled?.cancelled_at, 'a cancelled receipt cached again with its cancellation');
  },
);

/** The check's routes in an app of their own: another API process, or this one restarted. */
async function anotherProcess() {
  const app = createHttpApp();
  await securityHeaders(app, {});
  await app.register(receiptCheckRoutes, {
    db: server.db,
    redis: server.redis,
    redisPrefix: prefix,
    settings: server.config.receiptCheck,
  });
  await app.ready();
  t.teardown(() => app.close());
  return {
    open: (url: string, headers: Record<string, string> = {}, remoteAddress = '10.7.0.1') => {
      const { pathname, search } = new URL(url, 'http://x');
      return app.inject({ method: 'GET', url: pathname + search, headers, remoteAddress });
    },
  };
}

t.test(
  'the ETag is the same in another process and after a restart; a cancellation changes it',
  async (t) => {
    const sold = await sell(dev, seededRandom(23), new Date('2026-03-10T13:00:00Z'));
    t.ok(await cachedRow(sold.qr, (r) => r !== null), 'in the read model');
    const here = await open(sold.qr);
    t.equal(here.statusCode, 200);
    const tag = String(here.headers.etag);
    t.equal(String((await open(sold.qr)).headers.etag), tag, 'the held answer: the same');
    const other = await anotherProcess();
    const there = await other.open(sold.qr);
    t.equal(there.headers.etag, tag, 'another process (nothing held there): the same ETag');
    t.equal(there.body, here.body, 'and the same page');
    const restarted = await anotherProcess();
    const revalidated = await restarted.open(sold.qr, { 'if-none-match': tag });
    t.equal(revalidated.statusCode, 304, 'a browser revalidating after a restart gets 304');
    const jsonTag = String((await open(jsonUrl(sold.qr))).headers.etag);
    t.equal((await other.open(jsonUrl(sold.qr))).headers.etag, jsonTag, 'the JSON too');

    const cancel = await dev.send(requests.cancelTicket());
    t.equal(cancel.response.result.result_code, ResultCode.RESULT_TYPE_OK);
    t.ok(await cachedRow(sold.qr, (r) => !!r?.cancelled_at), 'the read model says cancelled');
    await sleep(1100); // the held answers' lifetime
    const after = await open(sold.qr, { 'if-none-match': tag });
    t.equal(after.statusCode, 200, 'the old version is not current any more');
    t.not(after.headers.etag, tag, 'a new ETag');
    t.ok(after.body.includes('Чек аннулирован'), 'and the page says cancelled');
    t.notOk(here.body.includes('Чек аннулирован'));
    const fresh = await anotherProcess();
    t.equal((await fresh.open(sold.qr)).headers.etag, after.headers.etag, 'everywhere');
    t.equal((await open(sold.qr, { 'if-none-match': String(after.headers.etag) })).statusCode, 304);
    t.not((await open(jsonUrl(sold.qr))).headers.etag, jsonTag, 'the JSON has a new one too');
  },
);

t.test("API processes share an address's rate budget through Redis", async (t) => {
  const a = { open: (url: string) => open(url, {}, '10.9.7.7') };
  const b = await anotherProcess();
  let admitted = 0;
  let refused = 0;
  for (let i = 0; i < 3 * RATE_MAX; i++) {
    // As checks arrive over the network: the processes read Redis's answers in between (an
    // injected request that is answered from memory never yields to I/O).
    await sleep(5);
    const res = i % 2 ? await b.open(qr, {}, '10.9.7.7') : await a.open(qr);
    if (res.statusCode === 200) admitted++;
    else if (res.statusCode === 429) refused++;
  }
  t.equal(admitted + refused, 3 * RATE_MAX, 'every answer is 200 or 429');
  // Each process alone would admit RATE_MAX; together they overspend by at most a report's
  // chunk each (a tenth of the limit), and a token or two of refill.
  const chunk = Math.ceil(RATE_MAX / 10);
  t.ok(admitted >= RATE_MAX, `${admitted} admitted`);
  t.ok(admitted <= RATE_MAX + 2 * chunk + 2, `${admitted} admitted, not ${2 * RATE_MAX}`);
});
