// Аналитика (manual §11): one KKM over up to 31 days or 2–20 KKMs over up to 7 days; sales by
// day, by payment type and by KKM as charts, each with the table behind it.
import { useState } from 'preact/hooks';
import { api, errorText, type Json } from '../api/client';
import { fmt, useT } from '../i18n';
import { ChartCanvas } from '../lib/chart';
import { money, thousandthsText, wall } from '../lib/format';
import { Checklist, DataTable, ErrorMessage, Loading, Screen } from '../lib/ui';
import { kkmName, useKkms } from './kkms';
import { PeriodOnly } from './kkm';

type Summary = Json<'/api/v1/analytics/summary', 'get'>;
type Figures = Summary['total'];
const MAX_KKMS = 20;
const DAY_MS = 86_400_000;

const sales = (f: Figures) => f.byOperation.find((o) => o.operation === 'sell')?.sum ?? 0;

export function AnalyticsScreen() {
  const t = useT();
  const kkms = useKkms();
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
      <DataTable
        caption={fmt(t.analytics.table, { title })}
        captionHidden
        rowKey={(r) => r.label}
        rows={rows}
        columns={[
          { header: firstHeader, cell: (r) => r.label },
          { header: t.analytics.sales, numeric: true, cell: (r) => money(r.value) },
        ]}
      />
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
      <DataTable
        caption={t.analytics.byOperation}
        rows={f.byOperation}
        rowKey={(o) => o.operation}
        columns={[
          { header: t.kkm.operation, cell: (o) => t.operations[o.operation] ?? o.operation },
          { header: t.analytics.receipts, numeric: true, cell: (o) => o.receipts },
          { header: t.kkm.sum, numeric: true, cell: (o) => money(o.sum) },
          { header: t.analytics.average, numeric: true, cell: (o) => money(o.average) },
        ]}
      />
      <DataTable
        caption={t.analytics.byPayment}
        rows={f.byPayment}
        rowKey={(p) => `${p.operation}:${p.type}`}
        columns={[
          { header: t.kkm.operation, cell: (p) => t.operations[p.operation] ?? p.operation },
          { header: t.analytics.type, cell: (p) => t.payments[p.type] ?? p.type },
          { header: t.analytics.receipts, numeric: true, cell: (p) => p.count },
          { header: t.kkm.sum, numeric: true, cell: (p) => money(p.sum) },
        ]}
      />
      {f.byTax.length > 0 && (
        <DataTable
          caption={t.analytics.byTax}
          rows={f.byTax}
          rowKey={(x) => `${x.operation}:${x.taxType}:${x.percent}`}
          columns={[
            { header: t.kkm.operation, cell: (x) => t.operations[x.operation] ?? x.operation },
            {
              header: t.analytics.percent,
              numeric: true,
              cell: (x) => `${thousandthsText(x.percent)}%`,
            },
            { header: t.analytics.turnover, numeric: true, cell: (x) => money(x.turnover) },
            { header: t.analytics.tax, numeric: true, cell: (x) => money(x.sum) },
          ]}
        />
      )}
    </div>
  );
}
