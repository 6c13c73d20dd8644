// The receipt check as a page: plain server-rendered HTML that reads without scripts (none is
// sent, and the Content-Security-Policy allows none), fits a phone and prints like a receipt.
// Money is formatted from integer tiyn, quantities and tax rates from integer thousandths.
//
// A check renders its page straight from the read model's columns (receipt-check-cache.ts: one
// array in CACHED_COLUMNS' order) into one string: each language's words are escaped and
// joined into fragments once, when this module loads; the seller's part of the page (org,
// point of sale, KKM) once per seller and language (sellerFacts). The style is minified and
// the markup has no redundant attributes, so a receipt of ten lines is some 3 KiB.
import escapeHtml from 'escape-html';
import { moneyText, thousandthsText } from '../../fiscal/money.js';
import { ITEM_TYPE_NAMES, OPERATION_NAMES, PAYMENT_NAMES } from '../../fiscal/names.js';
import { receiptUrl, type ReceiptKey } from '../../fiscal/receipt-url.js';
import { dateTimeText } from '../../protocol/datetime.js';
import { ItemType } from '../../protocol/schema.js';
import { COLUMN } from '../../storage/receipt-check-cache.js';
import type { Seller } from '../../storage/receipt-lookup.js';
import { LANGS, TEXTS, type Lang, type Texts } from './receipt-texts.js';

const STYLE =
  'body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f4f4f4;color:#111}' +
  'main{max-width:34rem;margin:1rem auto;background:#fff;padding:1.25rem 1.5rem;' +
  'border:1px solid #ddd}h1{font-size:1.3rem;margin:0 0 .5rem}nav{float:right;font-size:.9rem}' +
  'nav a[aria-current]{font-weight:bold;color:inherit;text-decoration:none}' +
  '.status{padding:.4rem .6rem;margin:.5rem 0;border-left:4px solid #2e7d32}' +
  '.cancelled{border-color:#c62828;font-weight:bold}.offline{border-color:#ef6c00}' +
  '.mark{font-weight:bold;border:1px solid;padding:0 .3rem}' +
  'dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem 1rem;margin:.75rem 0}' +
  'dt{color:#555}dd{margin:0;text-align:right}' +
  'table{width:100%;border-collapse:collapse;margin:.75rem 0}' +
  'th,td{padding:.25rem .3rem;border-bottom:1px dashed #bbb;vertical-align:top}' +
  'th{text-align:left;font-weight:600;font-size:.85rem;color:#555}' +
  'td+td,th+th{text-align:right;white-space:nowrap}.total *{font-size:1.2rem;font-weight:bold}' +
  '@media print{body{background:#fff;font-size:11pt}' +
  'main{border:0;margin:0;max-width:none;padding:0}nav{display:none}}';

const GOODS = new Set<number>([ItemType.ITEM_TYPE_COMMODITY, ItemType.ITEM_TYPE_STORNO_COMMODITY]);

/** `<dt>label</dt><dd>`: a row's start, its value and `</dd>` follow. */
const dt = (label: string) => `<dt>${escapeHtml(label)}</dt><dd>`;
const row = (label: string, value: string) => `${dt(label)}${escapeHtml(value)}</dd>`;

/** One language's fragments of the page, escaped once. */
function fragments(t: Texts) {
  // By enum value; none where the value has no name (it shows as `unknown_<value>`).
  const byValue = <T>(names: readonly string[], f: (name: string) => T) =>
    names.map((n) => (n ? f(n) : undefined));
  return {
    t,
    // The style before the title, so that a page's constant start is one piece (PAGE_START).
    head: `<!doctype html><html lang="${t.htmlLang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style><title>`,
    bodyStart: '</title></head><body><main>',
    end: '</main></body></html>',
    title: `${t.title} № `,
    h1: `<h1>${escapeHtml(t.title)}</h1><p class="status">${escapeHtml(t.verified)}</p>`,
    cancelled: `<p class="status cancelled">${escapeHtml(t.cancelled)}`,
    offline: `<p class="status offline"><span class="mark">А</span> ${escapeHtml(t.offline)}`,
    offlineNumber: ` (${escapeHtml(t.offlineNumber)} `,
    number: dt(t.number),
    dateTime: dt(t.dateTime),
    operation: dt(t.operation),
    operations: byValue(OPERATION_NAMES, (n) => escapeHtml(t.operations[n] ?? n)),
    itemsHead:
      '</dl><table class="items"><thead><tr>' +
      [t.item, t.quantity, t.price, t.sum, t.vat].map((h) => `<th>${escapeHtml(h)}</th>`).join('') +
      '</tr></thead><tbody>',
    /** The prefix of a line's name by item type ('Скидка: '), none for goods. */
    kinds: byValue(ITEM_TYPE_NAMES, (n) => (t.itemTypes[n] ? escapeHtml(t.itemTypes[n]) : '')),
    discount: dt(t.discount),
    markup: dt(t.markup),
    payments: byValue(PAYMENT_NAMES, (n) => dt(`${t.payments}: ${t.paymentTypes[n] ?? n}`)),
    taken: dt(t.taken),
    change: dt(t.change),
    total: `</dl><dl class="total">${dt(t.total)}`,
    taxes: `<dl class="taxes"><dt>${escapeHtml(t.taxes)}</dt><dd></dd>`,
  };
}

const PAGES = Object.fromEntries(LANGS.map((l) => [l, fragments(TEXTS[l])])) as Record<
  Lang,
  ReturnType<typeof fragments>
>;

/**
 * Every page's start up to its title, as bytes (a third of a receipt's page, the style mostly):
 * written as it is, where the rest of a page is rendered and encoded per receipt.
 */
export const PAGE_START = Object.fromEntries(
  LANGS.map((l) => [l, Buffer.from(PAGES[l].head)]),
) as Record<Lang, Buffer>;

/** The seller's rows of the page's facts, in each language (made once per seller). */
export function sellerFacts(s: Seller): Record<Lang, string> {
  const facts = (t: Texts) =>
    row(t.org, s.org.title) +
    row(t.bin, s.org.bin) +
    row(t.point, s.point.title) +
    row(t.address, s.point.address) +
    row(t.serial, s.kkm.serialNumber) +
    row(t.kgd, s.kkm.kgdNumber);
  return Object.fromEntries(LANGS.map((l) => [l, facts(TEXTS[l])])) as Record<Lang, string>;
}

const LANG_NAMES: Record<Lang, string> = { ru: 'Русский', kk: 'Қазақша' };

/** Links to the same check in the other language (the four facts kept). */
function languageLinks(pagePath: string, key: ReceiptKey | null, lang: Lang): string {
  if (!key) return '';
  const href = escapeHtml(receiptUrl(pagePath, key));
  const links = LANGS.map((l) => {
    const current = l === lang ? ' aria-current="page"' : '';
    return `<a href="${href}&amp;lang=${l}" hreflang="${l}"${current}>${LANG_NAMES[l]}</a>`;
  });
  return `<nav>${links.join(' · ')}</nav>`;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const money = (v: unknown) => moneyText(Number(v));

/**
 * The page of a receipt from its cached columns (`v`, in CACHED_COLUMNS' order), found by `key`
 * (its device time is the page's), sold by the seller whose facts `seller` holds: all of it
 * after PAGE_START.
 */
export function receiptPage(
  v: readonly unknown[],
  key: ReceiptKey,
  seller: Record<Lang, string>,
  lang: Lang,
  pagePath: string,
): string {
  const f = PAGES[lang];
  const number = String(v[COLUMN.ticket_number]);
  let html = `${escapeHtml(f.title + number)}${f.bodyStart}`;
  html += `${languageLinks(pagePath, key, lang)}${f.h1}`;
  const cancelledAt = v[COLUMN.cancelled_at];
  if (cancelledAt) html += `${f.cancelled} ${dateTimeText(String(cancelledAt))}</p>`;
  if (Number(v[COLUMN.is_offline]) === 1) {
    const offline = Number(v[COLUMN.offline_number]);
    html += `${f.offline}${offline ? `${f.offlineNumber}${offline})` : ''}</p>`;
  }
  const operation = Number(v[COLUMN.operation]);
  html +=
    `<dl class="facts">${seller[lang]}${f.number}${escapeHtml(number)}</dd>` +
    `${f.dateTime}${dateTimeText(key.deviceTime)}</dd>${f.operation}` +
    `${f.operations[operation] ?? `unknown_${operation}`}</dd>${f.itemsHead}`;
  const types = list(v[COLUMN['items.type']]);
  const names = list(v[COLUMN['items.name']]);
  const quantities = list(v[COLUMN['items.quantity']]);
  const prices = list(v[COLUMN['items.price']]);
  const sums = list(v[COLUMN['items.sum']]);
  const taxPercents = list(v[COLUMN['items.tax_percent']]);
  const taxSums = list(v[COLUMN['items.tax_sum']]);
  for (let i = 0; i < types.length; i++) {
    const type = Number(types[i]);
    const name = escapeHtml(String(names[i] ?? ''));
    const kind = f.kinds[type] ?? '';
    html += `<tr><td>${kind ? `${kind}${name ? `: ${name}` : ''}` : name}</td>`;
    if (GOODS.has(type)) {
      const taxSum = Number(taxSums[i] ?? 0);
      const vat = taxSum
        ? `${moneyText(taxSum)} (${thousandthsText(Number(taxPercents[i] ?? 0))}%)`
        : '—';
      html +=
        `<td>${thousandthsText(Number(quantities[i] ?? 0))}</td><td>${money(prices[i] ?? 0)}</td>` +
        `<td>${money(sums[i] ?? 0)}</td><td>${vat}</td></tr>`;
    } else {
      html += `<td></td><td></td><td>${money(sums[i] ?? 0)}</td><td></td></tr>`;
    }
  }
  html += '</tbody></table><dl class="sums">';
  const discount = Number(v[COLUMN.discount]);
  if (discount) html += `${f.discount}${moneyText(discount)}</dd>`;
  const markup = Number(v[COLUMN.markup]);
  if (markup) html += `${f.markup}${moneyText(markup)}</dd>`;
  const payTypes = list(v[COLUMN['payments.type']]);
  const paySums = list(v[COLUMN['payments.sum']]);
  for (let i = 0; i < payTypes.length; i++) {
    const type = Number(payTypes[i]);
    const label = f.payments[type] ?? dt(`${f.t.payments}: unknown_${type}`);
    html += `${label}${money(paySums[i] ?? 0)}</dd>`;
  }
  const taken = Number(v[COLUMN.taken]);
  if (taken) html += `${f.taken}${moneyText(taken)}</dd>${f.change}${money(v[COLUMN.change])}</dd>`;
  html += `${f.total}${money(v[COLUMN.total])} ₸</dd></dl>`;
  const taxTypes = list(v[COLUMN['taxes.type']]);
  if (taxTypes.length) {
    const percents = list(v[COLUMN['taxes.percent']]);
    const taxes = list(v[COLUMN['taxes.sum']]);
    html += f.taxes;
    for (let i = 0; i < taxTypes.length; i++) {
      const label = `${f.t.taxOf} ${f.t.taxType(Number(taxTypes[i]))}`;
      html += row(`${label} ${thousandthsText(Number(percents[i] ?? 0))}%`, money(taxes[i] ?? 0));
    }
    html += '</dl>';
  }
  return html + f.end;
}

export type ProblemKind = 'notFound' | 'badRequest' | 'tooMany';

/** The page of a check that found nothing, was malformed or came too often. */
export function problemPage(
  kind: ProblemKind,
  lang: Lang,
  pagePath: string,
  key: ReceiptKey | null,
): string {
  const f = PAGES[lang];
  const title = escapeHtml(f.t[`${kind}Title`]);
  return (
    `${f.head}${title}${f.bodyStart}${languageLinks(pagePath, key, lang)}` +
    `<h1>${title}</h1><p>${escapeHtml(f.t[kind])}</p>${f.end}`
  );
}
