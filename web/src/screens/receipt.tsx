// One receipt (manual §9.2) laid out as the buyer's receipt-check page shows it, with the link
// to that page (the QR code's address on this server) and its download as an HTML file.
import { Fragment } from 'preact';
import { Link } from 'wouter-preact';
import { useState } from 'preact/hooks';
import { api, errorText, saveBlob } from '../api/client';
import { fmt, useT } from '../i18n';
import { money, thousandthsText, wall } from '../lib/format';
import { ErrorMessage, Loading, Screen, useLoad } from '../lib/ui';

/** The buyer's page on this server: the QR URL's path and query (its host may be a public name). */
function buyerPage(qrUrl: string | null): string | null {
  if (!qrUrl) return null;
  try {
    const u = new URL(qrUrl);
    return `${u.pathname}${u.search}`;
  } catch {
    return null;
  }
}

export function ReceiptScreen({ kkmId, ticketNumber }: { kkmId: number; ticketNumber: string }) {
  const t = useT();
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const receipt = useLoad(async () => {
    const { data, error, response } = await api.GET('/api/v1/kkms/{kkmId}/tickets/{ticketNumber}', {
      params: { path: { kkmId, ticketNumber } },
    });
    return { data, error: error ? errorText(error, response) : null };
  }, [kkmId, ticketNumber]);
  const r = receipt.data;
  const page = buyerPage(r?.qrUrl ?? null);
  const save = async () => {
    if (!page) return;
    const res = await fetch(page);
    if (!res.ok) return setDownloadError(`HTTP ${res.status}`);
    saveBlob(await res.blob(), `receipt-${ticketNumber}.html`);
  };
  return (
    <Screen title={fmt(t.receipt.title, { number: ticketNumber })}>
      <p>
        <Link href={`/kkms/${kkmId}`}>{t.receipt.back}</Link>
      </p>
      <Loading loaded={receipt} />
      {r && (
        <article class="receipt" data-testid="receipt">
          <p class="status">{t.receipt.verified}</p>
          {r.annulled && <p class="status cancelled">{t.receipt.cancelled}</p>}
          {r.offline && (
            <p class="status offline">
              <span class="mark">{t.kkm.offlineMark}</span> {t.receipt.offline}
              {r.offlineNumber ? ` (${t.receipt.offlineNumber} ${r.offlineNumber})` : ''}
            </p>
          )}
          <dl class="facts">
            <dt>{t.kkm.number}</dt>
            <dd>{r.ticketNumber}</dd>
            <dt>{t.kkm.dateTime}</dt>
            <dd>{wall(r.dateTime)}</dd>
            <dt>{t.kkm.operation}</dt>
            <dd>{t.operations[r.operation] ?? r.operation}</dd>
            <dt>{t.receipt.shift}</dt>
            <dd>{r.shiftNumber}</dd>
            <dt>{t.receipt.cashier}</dt>
            <dd>
              {r.cashier.name} ({r.cashier.code})
            </dd>
          </dl>
          <div class="scroll" tabIndex={0}>
            <table class="items">
              <caption class="sr-only">{t.receipt.itemsCaption}</caption>
              <thead>
                <tr>
                  <th scope="col">{t.receipt.item}</th>
                  <th scope="col" class="n">
                    {t.receipt.quantity}
                  </th>
                  <th scope="col" class="n">
                    {t.receipt.price}
                  </th>
                  <th scope="col" class="n">
                    {t.receipt.sum}
                  </th>
                  <th scope="col" class="n">
                    {t.receipt.vat}
                  </th>
                </tr>
              </thead>
              <tbody>
                {r.items.map((i, n) => (
                  <tr key={n}>
                    <td>{i.name}</td>
                    <td class="n">{thousandthsText(i.quantity)}</td>
                    <td class="n">{money(i.price)}</td>
                    <td class="n">{money(i.sum)}</td>
                    <td class="n">
                      {i.taxSum ? `${money(i.taxSum)} (${thousandthsText(i.taxPercent)}%)` : t.none}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <dl class="sums">
            {r.amounts.discount > 0 && (
              <>
                <dt>{t.receipt.discount}</dt>
                <dd>{money(r.amounts.discount)}</dd>
              </>
            )}
            {r.amounts.markup > 0 && (
              <>
                <dt>{t.receipt.markup}</dt>
                <dd>{money(r.amounts.markup)}</dd>
              </>
            )}
            {r.payments.map((p, n) => (
              <Fragment key={n}>
                <dt>
                  {t.receipt.payments}: {t.payments[p.type] ?? p.type}
                </dt>
                <dd>{money(p.sum)}</dd>
              </Fragment>
            ))}
            {r.amounts.taken > 0 && (
              <>
                <dt>{t.receipt.taken}</dt>
                <dd>{money(r.amounts.taken)}</dd>
                <dt>{t.receipt.change}</dt>
                <dd>{money(r.amounts.change)}</dd>
              </>
            )}
          </dl>
          <dl class="total">
            <dt>{t.receipt.total}</dt>
            <dd data-testid="receipt-total">{money(r.total)}</dd>
          </dl>
          {r.taxes.length > 0 && (
            <dl class="taxes">
              <dt>{t.receipt.taxes}</dt>
              <dd />
              {r.taxes.map((x, n) => (
                <Fragment key={n}>
                  <dt>
                    {t.receipt.vat} {thousandthsText(x.percent)}%
                  </dt>
                  <dd>{money(x.sum)}</dd>
                </Fragment>
              ))}
            </dl>
          )}
        </article>
      )}
      {page && (
        <p class="actions">
          <a href={page} target="_blank" rel="noopener">
            {t.receipt.buyerPage}
          </a>{' '}
          <button type="button" onClick={save}>
            {t.receipt.download}
          </button>{' '}
          <button type="button" onClick={() => print()}>
            {t.receipt.print}
          </button>
        </p>
      )}
      <ErrorMessage message={downloadError} />
    </Screen>
  );
}
