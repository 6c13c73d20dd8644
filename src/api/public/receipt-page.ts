// The receipt check as a page: plain server-rendered HTML that reads without scripts (none is
// sent, and the Content-Security-Policy allows none), fits a phone and prints like a receipt.
// Money is formatted from integer tiyn, quantities and tax rates from integer thousandths.
import escapeHtml from 'escape-html';
import { moneyText, thousandthsText } from '../../fiscal/money.js';
import { receiptUrl, type ReceiptKey } from '../../fiscal/receipt-url.js';
import { dateTimeText } from '../../protocol/datetime.js';
import type { PublicReceipt } from './public-receipt.js';
import { LANGS, TEXTS, type Lang, type Texts } from './receipt-texts.js';

const STYLE = `
body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f4f4f4; color: #111; }
main { max-width: 34rem; margin: 1rem auto; background: #fff; padding: 1.25rem 1.5rem;
  border: 1px solid #ddd; }
h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
nav { float: right; font-size: .9rem; }
nav a[aria-current] { font-weight: bold; color: inherit; text-decoration: none; }
.status { padding: .4rem .6rem; margin: .5rem 0; border-left: 4px solid #2e7d32; }
.status.cancelled { border-color: #c62828; font-weight: bold; }
.status.offline { border-color: #ef6c00; }
.mark { font-weight: bold; border: 1px solid; padding: 0 .3rem; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .15rem 1rem; margin: .75rem 0; }
dt { color: #555; } dd { margin: 0; text-align: right; }
table { width: 100%; border-collapse: collapse; margin: .75rem 0; }
th, td { padding: .25rem .3rem; border-bottom: 1px dashed #bbb; vertical-align: top; }
th { text-align: left; font-weight: 600; font-size: .85rem; color: #555; }
td.n, th.n { text-align: right; white-space: nowrap; }
.total dt, .total dd { font-size: 1.2rem; font-weight: bold; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { border: 0; margin: 0; max-width: none; padding: 0; }
  nav { display: none; }
}`;

function page(t: Texts, title: string, body: string, nav: string): string {
  return (
    `<!doctype html><html lang="${t.htmlLang}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>` +
    `<body><main>${nav}${body}</main></body></html>`
  );
}

/** Links to the same check in the other language (the four facts kept). */
function languageLinks(pagePath: string, key: ReceiptKey | null, lang: Lang): string {
  if (!key) return '';
  const names: Record<Lang, string> = { ru: 'Русский', kk: 'Қазақша' };
  const links = LANGS.map((l) => {
    const href = escapeHtml(`${receiptUrl(pagePath, key)}&lang=${l}`);
    const current = l === lang ? ' aria-current="page"' : '';
    return `<a href="${href}" hreflang="${l}"${current}>${names[l]}</a>`;
  });
  return `<nav>${links.join(' · ')}</nav>`;
}

const row = (label: string, value: string) =>
  `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`;

function itemsTable(t: Texts, items: PublicReceipt['ticket']['items']): string {
  const lines = items.map((i) => {
    const kind = t.itemTypes[i.type];
    const name = kind ? `${kind}${i.name ? `: ${i.name}` : ''}` : i.name;
    const goods = i.type === 'commodity' || i.type === 'storno_commodity';
    const vat = i.taxSum ? `${moneyText(i.taxSum)} (${thousandthsText(i.taxPercent)}%)` : '—';
    return (
      `<tr><td>${escapeHtml(name)}</td>` +
      `<td class="n">${goods ? thousandthsText(i.quantity) : ''}</td>` +
      `<td class="n">${goods ? moneyText(i.price) : ''}</td>` +
      `<td class="n">${moneyText(i.sum)}</td><td class="n">${goods ? vat : ''}</td></tr>`
    );
  });
  const head = [t.item, t.quantity, t.price, t.sum, t.vat]
    .map((h, i) => `<th${i ? ' class="n"' : ''}>${escapeHtml(h)}</th>`)
    .join('');
  return `<table class="items"><thead><tr>${head}</tr></thead><tbody>${lines.join('')}</tbody></table>`;
}

export function receiptPage(
  r: PublicReceipt,
  lang: Lang,
  pagePath: string,
  key: ReceiptKey,
): string {
  const t = TEXTS[lang];
  const k = r.ticket;
  const statuses = [`<p class="status">${escapeHtml(t.verified)}</p>`];
  if (k.cancelled) {
    const at = k.cancelledAt ? ` ${dateTimeText(k.cancelledAt)}` : '';
    statuses.push(`<p class="status cancelled">${escapeHtml(t.cancelled + at)}</p>`);
  }
  if (k.offline) {
    const number = k.offlineNumber ? ` (${t.offlineNumber} ${k.offlineNumber})` : '';
    statuses.push(
      `<p class="status offline"><span class="mark">А</span> ${escapeHtml(t.offline + number)}</p>`,
    );
  }
  const facts = [
    row(t.org, r.org.title),
    row(t.bin, r.org.bin),
    row(t.point, r.point.title),
    row(t.address, r.point.address),
    row(t.serial, r.kkm.serialNumber),
    row(t.kgd, r.kkm.kgdNumber),
    row(t.number, k.number),
    row(t.dateTime, dateTimeText(k.dateTime)),
    row(t.operation, t.operations[k.operation] ?? k.operation),
  ];
  const sums = [
    ...(k.discount ? [row(t.discount, moneyText(k.discount))] : []),
    ...(k.markup ? [row(t.markup, moneyText(k.markup))] : []),
    ...k.payments.map((p) =>
      row(`${t.payments}: ${t.paymentTypes[p.type] ?? p.type}`, moneyText(p.sum)),
    ),
    ...(k.taken ? [row(t.taken, moneyText(k.taken))] : []),
    ...(k.taken ? [row(t.change, moneyText(k.change))] : []),
  ];
  const taxes = k.taxes.map((x) =>
    row(`${t.taxOf} ${t.taxType(x.type)} ${thousandthsText(x.percent)}%`, moneyText(x.sum)),
  );
  const body =
    `<h1>${escapeHtml(t.title)}</h1>${statuses.join('')}<dl class="facts">${facts.join('')}</dl>` +
    itemsTable(t, k.items) +
    `<dl class="sums">${sums.join('')}</dl>` +
    `<dl class="total">${row(t.total, `${moneyText(k.total)} ₸`)}</dl>` +
    (taxes.length
      ? `<dl class="taxes"><dt>${escapeHtml(t.taxes)}</dt><dd></dd>${taxes.join('')}</dl>`
      : '');
  return page(t, `${t.title} № ${k.number}`, body, languageLinks(pagePath, key, lang));
}

export type ProblemKind = 'notFound' | 'badRequest' | 'tooMany';

/** The page of a check that found nothing, was malformed or came too often. */
export function problemPage(
  kind: ProblemKind,
  lang: Lang,
  pagePath: string,
  key: ReceiptKey | null,
): string {
  const t = TEXTS[lang];
  const title = t[`${kind}Title`];
  const body = `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(t[kind])}</p>`;
  return page(t, title, body, languageLinks(pagePath, key, lang));
}
