// Аналитика (manual §11): one KKM over up to 31 days or 2–20 KKMs over up to 7 days; sales by
// day, by payment type and by KKM as charts, each with the table behind it.
import { useState } from 'preact/hooks';
import { api, errorText, type Json } from '../api/client';
import { fmt, useT } from '../i18n';
import { ChartCanvas } from '../lib/chart';
import { money, thousandthsText, wall } from '../lib/format';
import { Checklist, ErrorMessage, Loading, Screen, useLoad } from '../lib/ui';
import { kkmName } from './kkms';
import { PeriodOnly } from './kkm';

type Summary = Json<'/api/v1/analytics/summary', 'get'>;
type Figures = Summary['total'];
const MAX_KKMS = 20;
const DAY_MS = 86_400_000;

const sales = (f: Figures) => f.byOperation.find((o) => o.operation === 'sell')?.sum ?? 0;

export function AnalyticsScreen() {
  const t = useT();
  const kkms = useLoad(async () => {
    const { data, error, response } = await api.GET('/api/v1/kkms');
    return { data: data?.items, error: error ? errorText(error, response) : null };
  }, []);
  const [selected, setSelected] = useState<number[]>([]);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selectionError, setSelectionError] = useState<string | null>(null);
  const all = (kkms.data ?? []).map((k) => k.id);
  const choose = (ids: number[]) => {
    setSelectionError(ids.length > MAX_KKMS ? t.analytics.tooMany : null);
    setSelected(ids.slice(0, MAX_KKMS));
  };
  const show = async (from: string, to: string) => {
    if (!selected.length) return setSelectionError(t.analytics.noKkm);
    // The manual's limits, said before asking; the server checks them again.
    const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
    if (selected.length === 1 && days > 31) return setError(t.analytics.tooLongOne);
    if (selected.length > 1 && days > 7) return setError(t.analytics.tooLongMany);
    const { data, error, response } = await api.GET('/api/v1/analytics/summary', {
      params: { query: { kkmIds: selected.join(','), from, to } },
    });
    setError(data ? null : errorText(error, response));
    setSummary(data ?? null);
  };
  const names = new Map((kkms.data ?? []).map((k) => [k.id, kkmName(k)]));
  return (
    <Screen title={t.analytics.title}>
      <p class="hint">{t.analytics.note}</p>
      <Loading loaded={kkms} />
      {kkms.data && (
        <div class="card">
          <Checklist
            legend={t.analytics.kkms}
            options={kkms.data.map((k) => ({
              value: k.id,
              label: `${kkmName(k)} · ${k.pointTitle}`,
            }))}
            selected={selected}
            onChange={choose}
          />
          <p>
            <button type="button" onClick={() => choose(all)}>
              {t.analytics.selectAll}
            </button>{' '}
            <button type="button" onClick={() => choose([])}>
              {t.analytics.selectNone}
            </button>
          </p>
          <ErrorMessage message={selectionError} />
          <PeriodOnly submitLabel={t.analytics.submit} error={error} onSubmit={show} />
        </div>
      )}
      {summary && <AnalyticsCharts summary={summary} names={names} />}
      {summary && <SummaryTables summary={summary} />}
    </Screen>
  );
}

function ChartWithTable({
  title,
  type,
  rows,
  firstHeader,
}: {
  title: string;
  type: 'bar' | 'doughnut';
  rows: { label: string; value: number; count?: number }[];
  firstHeader: string;
}) {
  const t = useT();
  const id = `chart-${title.replace(/\W+/g, '-')}`;
  return (
    <section class="card chart-card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <ChartCanvas
        type={type}
        labels={rows.map((r) => r.label)}
        values={rows.map((r) => r.value)}
        label={fmt(t.analytics.chart, { title })}
        format={money}
      />
      <table>
        <caption class="sr-only">{fmt(t.analytics.table, { title })}</caption>
        <thead>
          <tr>
            <th scope="col">{firstHeader}</th>
            <th scope="col" class="n">
              {t.analytics.sales}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.label}>
              <th scope="row">{r.label}</th>
              <td class="n">{money(r.value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AnalyticsCharts({ summary, names }: { summary: Summary; names: Map<number, string> }) {
  const t = useT();
  const byPayment = summary.total.byPayment.filter((p) => p.operation === 'sell');
  return (
    <div class="charts">
      <ChartWithTable
        title={t.analytics.byDay}
        type="bar"
        firstHeader={t.analytics.date}
        rows={summary.days.map((d) => ({ label: wall(d.date).slice(0, 10), value: sales(d) }))}
      />
      <ChartWithTable
        title={t.analytics.byPayment}
        type="doughnut"
        firstHeader={t.analytics.type}
        rows={byPayment.map((p) => ({ label: t.payments[p.type] ?? p.type, value: p.sum }))}
      />
      <ChartWithTable
        title={t.analytics.byKkm}
        type="bar"
        firstHeader={t.analytics.kkm}
        rows={summary.kkms.map((k) => ({
          label: names.get(k.kkmId) ?? String(k.kkmId),
          value: sales(k),
        }))}
      />
    </div>
  );
}

/** The summary's totals, by operation, payment and tax (the period report shows these too). */
export function SummaryTables({ summary }: { summary: Summary }) {
  const t = useT();
  const f = summary.total;
  return (
    <div class="summary" data-testid="summary">
      <dl class="facts">
        <dt>{t.analytics.receipts}</dt>
        <dd>{f.receipts}</dd>
        <dt>{t.analytics.average}</dt>
        <dd>{money(f.averageReceipt)}</dd>
        <dt>{t.analytics.revenue}</dt>
        <dd data-testid="revenue">{money(f.revenue)}</dd>
      </dl>
      <div class="scroll" tabIndex={0}>
        <table>
          <caption>{t.analytics.byOperation}</caption>
          <thead>
            <tr>
              <th scope="col">{t.kkm.operation}</th>
              <th scope="col" class="n">
                {t.analytics.receipts}
              </th>
              <th scope="col" class="n">
                {t.kkm.sum}
              </th>
              <th scope="col" class="n">
                {t.analytics.average}
              </th>
            </tr>
          </thead>
          <tbody>
            {f.byOperation.map((o) => (
              <tr key={o.operation}>
                <th scope="row">{t.operations[o.operation] ?? o.operation}</th>
                <td class="n">{o.receipts}</td>
                <td class="n">{money(o.sum)}</td>
                <td class="n">{money(o.average)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="scroll" tabIndex={0}>
        <table>
          <caption>{t.analytics.byPayment}</caption>
          <thead>
            <tr>
              <th scope="col">{t.kkm.operation}</th>
              <th scope="col">{t.analytics.type}</th>
              <th scope="col" class="n">
                {t.analytics.receipts}
              </th>
              <th scope="col" class="n">
                {t.kkm.sum}
              </th>
            </tr>
          </thead>
          <tbody>
            {f.byPayment.map((p) => (
              <tr key={`${p.operation}${p.type}`}>
                <th scope="row">{t.operations[p.operation] ?? p.operation}</th>
                <td>{t.payments[p.type] ?? p.type}</td>
                <td class="n">{p.count}</td>
                <td class="n">{money(p.sum)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {f.byTax.length > 0 && (
        <div class="scroll" tabIndex={0}>
          <table>
            <caption>{t.analytics.byTax}</caption>
            <thead>
              <tr>
                <th scope="col">{t.kkm.operation}</th>
                <th scope="col" class="n">
                  {t.analytics.percent}
                </th>
                <th scope="col" class="n">
                  {t.analytics.turnover}
                </th>
                <th scope="col" class="n">
                  {t.analytics.tax}
                </th>
              </tr>
            </thead>
            <tbody>
              {f.byTax.map((x) => (
                <tr key={`${x.operation}${x.taxType}${x.percent}`}>
                  <th scope="row">{t.operations[x.operation] ?? x.operation}</th>
                  <td class="n">{thousandthsText(x.percent)}%</td>
                  <td class="n">{money(x.turnover)}</td>
                  <td class="n">{money(x.sum)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
