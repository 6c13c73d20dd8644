// A KKM's page (manual §9, §10, §11): its receipts by shift or period with the "А" mark, paged
// by the API's keyset cursor; X and Z reports with the device's and the server's figures side
// by side; the period report; archives of both; and the registry actions of the self-service.
import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { api, errorText, refusal, type Json } from '../api/client';
import type { Me } from '../app';
import { fmt, useT } from '../i18n';
import type { Texts } from '../i18n/ru';
import { ExportArchive } from '../lib/export';
import { DocumentFilterForm, type DocFilter } from '../lib/filter';
import { money, wall } from '../lib/format';
import { OPERATION_NAMES, PAYMENT_NAMES } from '../lib/names';
import { loadPoints } from '../lib/points';
import { ErrorMessage, Field, Loading, Notice, Screen, Select, useLoad } from '../lib/ui';
import { reportRows, type RowLabel } from '../lib/zx-rows';
import { kkmName, statusText } from './kkms';
import { SummaryTables } from './analytics';

type Tab = 'transactions' | 'reports' | 'periodReport' | 'manage';

export function KkmScreen({ me, kkmId }: { me: Me; kkmId: number }) {
  const t = useT();
  const kkm = useLoad(async () => {
    const { data, error, response } = await api.GET('/api/v1/kkms');
    const found = data?.items.find((k) => k.id === kkmId);
    return {
      data: found,
      error: error ? errorText(error, response) : found ? null : fmt(t.kkm.notFound, { id: kkmId }),
    };
  }, [kkmId]);
  const [tab, setTab] = useState<Tab>(
    me.permissions.includes('transactions') ? 'transactions' : 'reports',
  );
  const can = (p: Me['permissions'][number]) => me.permissions.includes(p);
  const tabs: [Tab, string, boolean][] = [
    ['transactions', t.kkm.transactions, can('transactions')],
    ['reports', t.kkm.reports, can('reports')],
    ['periodReport', t.kkm.periodReport, can('analytics')],
    ['manage', t.kkm.manage, can('kkms')],
  ];
  const k = kkm.data;
  return (
    <Screen title={fmt(t.kkm.title, { name: k ? kkmName(k) : kkmId })}>
      <p>
        <Link href="/">{t.kkm.back}</Link>
      </p>
      <Loading loaded={kkm} />
      {k && (
        <dl class="facts">
          <dt>{t.kkms.id}</dt>
          <dd>{k.id}</dd>
          <dt>{t.kkms.model}</dt>
          <dd>{k.model}</dd>
          <dt>{t.kkms.point}</dt>
          <dd>{k.pointTitle}</dd>
          <dt>{t.kkms.kgd}</dt>
          <dd>{k.fnsKkmId}</dd>
          <dt>{t.kkms.status}</dt>
          <dd>{statusText(t, k)}</dd>
          <dt>{t.kkms.shift}</dt>
          <dd>
            {k.openShift
              ? fmt(t.kkms.shiftNumber, { n: k.openShift.number, at: wall(k.openShift.openedAt) })
              : t.kkms.noShift}
          </dd>
        </dl>
      )}
      <nav class="subtabs" aria-label={t.kkm.tabs}>
        {tabs
          .filter(([, , shown]) => shown)
          .map(([id, label]) => (
            <button key={id} type="button" aria-pressed={tab === id} onClick={() => setTab(id)}>
              {label}
            </button>
          ))}
      </nav>
      {k && tab === 'transactions' && (
        <Transactions
          kkmId={kkmId}
          openShift={k.openShift?.number ?? k.lastShiftNumber}
          canExport={can('exports')}
        />
      )}
      {k && tab === 'reports' && <Reports kkmId={kkmId} canExport={can('exports')} />}
      {k && tab === 'periodReport' && <PeriodReport kkmId={kkmId} />}
      {tab === 'manage' && k && <Manage kkmId={kkmId} onChanged={kkm.reload} />}
    </Screen>
  );
}

type TicketPage = Json<'/api/v1/kkms/{kkmId}/tickets', 'get'>;

function Transactions({
  kkmId,
  openShift,
  canExport,
}: {
  kkmId: number;
  openShift?: number;
  canExport: boolean;
}) {
  const t = useT();
  const [filter, setFilter] = useState<DocFilter | null>(null);
  // Keyset paging: the cursors of the pages seen so far, to go back as well as on.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<TicketPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** Loads the page after the last of `trail`; the page and its place change together. */
  const load = async (f: DocFilter, trail: (string | undefined)[]) => {
    const cursor = trail[trail.length - 1];
    const { data, error, response } = await api.GET('/api/v1/kkms/{kkmId}/tickets', {
      params: { path: { kkmId }, query: { ...f, limit: 20, cursor } },
    });
    setError(data ? null : errorText(error, response));
    setPage(data ?? null);
    if (data) setCursors(trail);
  };
  const show = (f: DocFilter) => {
    setFilter(f);
    void load(f, [undefined]);
  };
  const next = () => {
    if (filter && page?.nextCursor) void load(filter, [...cursors, page.nextCursor]);
  };
  const previous = () => {
    if (filter && cursors.length > 1) void load(filter, cursors.slice(0, -1));
  };
  return (
    <section aria-labelledby="tx-title">
      <h2 id="tx-title">{t.kkm.transactions}</h2>
      <DocumentFilterForm
        initialShift={openShift}
        submitLabel={t.show}
        onSubmit={show}
        error={error}
      />
      {page && page.items.length === 0 && <p>{t.kkm.empty}</p>}
      {page && page.items.length > 0 && (
        <div class="scroll" tabIndex={0}>
          <table data-testid="tickets">
            <caption>
              {t.kkm.receiptsCaption} · {fmt(t.kkm.page, { n: cursors.length })}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t.kkm.number}</th>
                <th scope="col">{t.kkm.dateTime}</th>
                <th scope="col">{t.kkm.operation}</th>
                <th scope="col" class="n">
                  {t.kkm.sum}
                </th>
                <th scope="col">{t.kkm.payment}</th>
                <th scope="col">{t.kkm.mark}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((r) => (
                <tr key={r.ticketNumber} class={r.annulled ? 'annulled' : undefined}>
                  <th scope="row">
                    <Link href={`/kkms/${kkmId}/tickets/${r.ticketNumber}`}>{r.ticketNumber}</Link>
                  </th>
                  <td>{wall(r.dateTime)}</td>
                  <td>
                    {t.operations[r.operation] ?? r.operation}
                    {r.annulled && ` (${t.kkm.annulled})`}
                  </td>
                  <td class="n">{money(r.total)}</td>
                  <td>{r.payments.map((p) => t.payments[p.type] ?? p.type).join(', ')}</td>
                  <td>
                    {r.offline && (
                      <abbr class="mark" title={t.kkm.offlineTitle} data-testid="offline-mark">
                        {t.kkm.offlineMark}
                      </abbr>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && (
        <p class="pager">
          <button type="button" onClick={previous} disabled={cursors.length < 2}>
            {t.previous}
          </button>{' '}
          <button type="button" onClick={next} disabled={!page.hasMore}>
            {t.next}
          </button>
        </p>
      )}
      {canExport && <ExportArchive kkmId={kkmId} kind="tickets" filter={filter} />}
    </section>
  );
}

type ReportItem = Json<'/api/v1/kkms/{kkmId}/reports', 'get'>['items'][number];

function Reports({ kkmId, canExport }: { kkmId: number; canExport: boolean }) {
  const t = useT();
  const [type, setType] = useState<'x' | 'z'>('x');
  const [filter, setFilter] = useState<DocFilter | null>(null);
  const [items, setItems] = useState<ReportItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async (
    query: { type: 'x' | 'z' } & Partial<{ shift: number; from: string; to: string }>,
  ) => {
    const { data, error, response } = await api.GET('/api/v1/kkms/{kkmId}/reports', {
      params: { path: { kkmId }, query: { limit: 50, ...query } },
    });
    setError(data ? null : errorText(error, response));
    setItems(data?.items ?? null);
  };
  return (
    <section aria-labelledby="reports-title">
      <h2 id="reports-title">{t.kkm.reports}</h2>
      <Select
        label={t.reports.type}
        value={type}
        options={[
          { value: 'x', label: t.reports.x },
          { value: 'z', label: t.reports.z },
        ]}
        onChange={(v) => {
          setType(v);
          setItems(null);
        }}
      />
      {type === 'x' ? (
        <p>
          <button type="button" onClick={() => load({ type: 'x' })}>
            {t.show}
          </button>
        </p>
      ) : (
        <DocumentFilterForm
          submitLabel={t.show}
          error={error}
          onSubmit={(f) => {
            setFilter(f);
            void load({ type: 'z', ...f });
          }}
        />
      )}
      {type === 'x' && <ErrorMessage message={error} />}
      {items && items.length === 0 && (
        <p>{type === 'x' ? t.reports.noOpenShift : t.reports.empty}</p>
      )}
      {items?.map((r) => (
        <ReportView key={`${type}${r.shiftNumber}`} report={r} type={type} />
      ))}
      {canExport && type === 'z' && <ExportArchive kkmId={kkmId} kind="reports" filter={filter} />}
    </section>
  );
}

function rowLabel(t: Texts, l: RowLabel): string {
  const op = (n: number) => t.operations[OPERATION_NAMES[n] ?? ''] ?? String(n);
  switch (l.kind) {
    case 'shift':
      return t.reports.shiftNumber;
    case 'count':
      return fmt(t.reports.count, { op: op(l.operation) });
    case 'sum':
      return fmt(t.reports.sum, { op: op(l.operation) });
    case 'payment':
      return fmt(t.reports.paymentSum, {
        op: op(l.operation),
        payment: t.payments[PAYMENT_NAMES[l.payment] ?? ''] ?? String(l.payment),
      });
    case 'placement':
      return l.placement === 0 ? t.reports.deposit : t.reports.withdrawal;
    case 'cash':
      return t.reports.cash;
    case 'revenue':
      return t.reports.revenue;
  }
}

function ReportView({ report, type }: { report: ReportItem; type: 'x' | 'z' }) {
  const t = useT();
  const rows = reportRows(report.device, report.server, report.differences);
  const both = type === 'z';
  const mismatches = rows.filter((r) => r.differs).length;
  const id = `report-${type}-${report.shiftNumber}`;
  const value = (v: number | null, isMoney: boolean) =>
    v === null ? t.none : isMoney ? money(v) : String(v);
  return (
    <article class="report" aria-labelledby={id} data-testid={`${type}-report`}>
      <h3 id={id}>
        {type === 'x' ? t.reports.x : 'Z'} · {fmt(t.reports.shiftTitle, { n: report.shiftNumber })}
      </h3>
      <p>
        {fmt(t.reports.opened, { at: wall(report.openedAt) })}
        {report.closedAt && ` · ${fmt(t.reports.closed, { at: wall(report.closedAt) })}`}
        {report.offline && (
          <>
            {' '}
            <abbr class="mark" title={t.kkm.offlineTitle}>
              {t.kkm.offlineMark}
            </abbr>
          </>
        )}
      </p>
      {type === 'x' && <p class="hint">{t.reports.xNote}</p>}
      {both && (
        <p class={mismatches ? 'error' : 'ok'} role="status">
          {mismatches ? fmt(t.reports.mismatch, { n: mismatches }) : t.reports.match}
        </p>
      )}
      <div class="scroll" tabIndex={0}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t.reports.figure}</th>
              {both && (
                <th scope="col" class="n">
                  {t.reports.device}
                </th>
              )}
              <th scope="col" class="n">
                {t.reports.server}
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.field} class={r.differs ? 'differs' : undefined} data-field={r.field}>
                <th scope="row">
                  {rowLabel(t, r.label)}
                  {r.differs && <strong class="differs-mark"> — {t.reports.differs}</strong>}
                </th>
                {both && <td class="n">{value(r.device, r.money)}</td>}
                <td class="n">{value(r.server, r.money)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </article>
  );
}

type Summary = Json<'/api/v1/analytics/summary', 'get'>;

/** "Отчет за период" (manual §11): the summary of one KKM, up to 31 days. */
function PeriodReport({ kkmId }: { kkmId: number }) {
  const t = useT();
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <section aria-labelledby="period-title">
      <h2 id="period-title">{t.period.title}</h2>
      <p class="hint">{t.period.note}</p>
      <PeriodOnly
        submitLabel={t.period.submit}
        error={error}
        onSubmit={async (from, to) => {
          const { data, error, response } = await api.GET('/api/v1/analytics/summary', {
            params: { query: { kkmIds: String(kkmId), from, to } },
          });
          setError(data ? null : errorText(error, response));
          setSummary(data ?? null);
        }}
      />
      {summary && <SummaryTables summary={summary} />}
    </section>
  );
}

export function PeriodOnly({
  submitLabel,
  error,
  onSubmit,
}: {
  submitLabel: string;
  error: string | null;
  onSubmit(from: string, to: string): void;
}) {
  return (
    <DocumentFilterForm
      periodOnly
      submitLabel={submitLabel}
      error={error}
      onSubmit={(f) => 'from' in f && onSubmit(f.from, f.to)}
    />
  );
}

/** Token, re-registration and deregistration (manual §4.1, §8, §5.2). */
function Manage({ kkmId, onChanged }: { kkmId: number; onChanged(): void }) {
  const t = useT();
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<{ where: string; text: string } | null>(null);
  const [pointId, setPointId] = useState('');
  const [reason, setReason] = useState('');
  const points = useLoad(loadPoints, []);
  const path = { params: { path: { kkmId } } };
  /** One action's answer: its words in the notice, or the refusal under its control. */
  const answered = (
    where: string,
    res: { error?: unknown; response: Response },
    done: string | null,
  ) => {
    setError(done ? null : { where, text: refusal(res.error, res.response).text });
    setMessage(done);
    if (done) onChanged();
  };
  const applied = (status: string) =>
    fmt(t.kkm.applied, { status: t.documents.statuses[status] ?? status });
  const token = async () => {
    const res = await api.POST('/api/v1/kkms/{kkmId}/token', path);
    answered(
      'token',
      res,
      res.data ? fmt(t.kkm.tokenIssued, { token: res.data.token, id: res.data.kkmId }) : null,
    );
  };
  const reregister = async (e: Event) => {
    e.preventDefault();
    const res = await api.POST('/api/v1/kkms/{kkmId}/reregistration', {
      ...path,
      body: { pointId: Number(pointId || options[0]?.value) },
    });
    answered('rereg', res, res.data ? applied(res.data.status) : null);
  };
  const deregister = async (e: Event) => {
    e.preventDefault();
    const res = await api.POST('/api/v1/kkms/{kkmId}/deregistration', {
      ...path,
      body: { reason },
    });
    answered('dereg', res, res.data ? applied(res.data.status) : null);
  };
  const errorAt = (where: string) => (error?.where === where ? error.text : null);
  const options = (points.data ?? []).map((p) => ({ value: String(p.id), label: p.title }));
  return (
    <section aria-labelledby="manage-title">
      <h2 id="manage-title">{t.kkm.manage}</h2>
      {message && <Notice>{message}</Notice>}
      <div class="card">
        <button type="button" onClick={token}>
          {t.kkm.token}
        </button>
        <ErrorMessage message={errorAt('token')} />
      </div>
      <form class="card" onSubmit={reregister} aria-labelledby="rereg-title">
        <h3 id="rereg-title">{t.kkm.reregistration}</h3>
        <Select
          label={t.kkm.newPoint}
          value={pointId || options[0]?.value || ''}
          options={options}
          onChange={setPointId}
        />
        <ErrorMessage message={errorAt('rereg')} />
        <button type="submit">{t.kkm.reregister}</button>
      </form>
      <form class="card" onSubmit={deregister} aria-labelledby="dereg-title">
        <h3 id="dereg-title">{t.kkm.deregistration}</h3>
        <Field
          label={t.kkm.reason}
          value={reason}
          onInput={setReason}
          required
          error={errorAt('dereg')}
        />
        <button type="submit">{t.kkm.deregister}</button>
      </form>
    </section>
  );
}
