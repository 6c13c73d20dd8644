// Кассы (manual §3, §9): the KKM list with status, open shift and last contact, refreshed by
// the live feed; registering a KKM at a point of sale (an application to the tax authority).
import { useRef, useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { api, errorText, refusal, type Json, type Refusal } from '../api/client';
import type { Me } from '../app';
import { fmt, useT } from '../i18n';
import { instant, wall } from '../lib/format';
import { useLiveEvents } from '../lib/live';
import { loadPoints } from '../lib/points';
import { ErrorMessage, Field, Loading, Notice, Screen, Select, useLoad } from '../lib/ui';

export type Kkm = Json<'/api/v1/kkms', 'get'>['items'][number];

export function statusText(t: ReturnType<typeof useT>, k: Kkm): string {
  const known = t.status[k.status as keyof typeof t.status] ?? k.status;
  if (k.status !== 'offline') return known;
  return k.offlineSince
    ? fmt(t.status.offlineSince, { at: instant(k.offlineSince) })
    : t.status.never;
}

export const kkmName = (k: Pick<Kkm, 'id' | 'serialNumber'>) => k.serialNumber || String(k.id);

/** The caller's KKMs (GET /api/v1/kkms), for the screens that list or pick them. */
export function useKkms() {
  return useLoad(async () => {
    const { data, error, response } = await api.GET('/api/v1/kkms');
    return { data: data?.items, error: error ? errorText(error, response) : null };
  }, []);
}

export function KkmsScreen({ me }: { me: Me }) {
  const t = useT();
  const kkms = useKkms();
  // A receipt, a document or a status change: read the list again, at most every half second.
  const pending = useRef<ReturnType<typeof setTimeout>>();
  const connected = useLiveEvents((e) => {
    if (e.type === 'hello' || pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      kkms.reload();
    }, 500);
  });
  const [registering, setRegistering] = useState(false);
  return (
    <Screen title={t.kkms.title}>
      <p class="live" aria-live="polite">
        {connected ? t.live : t.liveOff}
      </p>
      <Loading loaded={kkms} />
      {kkms.data && kkms.data.length === 0 && <p>{t.kkms.empty}</p>}
      {kkms.data && kkms.data.length > 0 && (
        <div class="scroll" tabIndex={0}>
          <table data-testid="kkm-table">
            <caption>{t.kkms.caption}</caption>
            <thead>
              <tr>
                <th scope="col">{t.kkms.id}</th>
                <th scope="col">{t.kkms.serial}</th>
                <th scope="col">{t.kkms.model}</th>
                <th scope="col">{t.kkms.point}</th>
                <th scope="col">{t.kkms.status}</th>
                <th scope="col">{t.kkms.shift}</th>
                <th scope="col">{t.kkms.lastSeen}</th>
              </tr>
            </thead>
            <tbody>
              {kkms.data.map((k) => (
                <tr key={k.id} data-kkm={k.id}>
                  <td>{k.id}</td>
                  <th scope="row">
                    <Link
                      href={`/kkms/${k.id}`}
                      aria-label={fmt(t.kkms.open, { name: kkmName(k) })}
                    >
                      {kkmName(k)}
                    </Link>
                  </th>
                  <td>{k.model}</td>
                  <td>{k.pointTitle}</td>
                  <td>
                    <span class={`status ${k.status}`} data-testid="kkm-status">
                      {statusText(t, k)}
                    </span>
                    {k.kgdStatus?.status.startsWith('awaiting') && (
                      <span class="kgd-status" data-testid="kkm-kgd-status">
                        {t.status[k.kgdStatus.status as keyof typeof t.status]}
                      </span>
                    )}
                  </td>
                  <td>
                    {k.openShift
                      ? fmt(t.kkms.shiftNumber, {
                          n: k.openShift.number,
                          at: wall(k.openShift.openedAt),
                        })
                      : t.kkms.noShift}
                  </td>
                  <td>{instant(k.lastSeenAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {me.permissions.includes('kkms') && (
        <p>
          <button
            type="button"
            aria-expanded={registering}
            onClick={() => setRegistering(!registering)}
          >
            {t.kkms.register}
          </button>
        </p>
      )}
      {registering && <RegisterKkm onDone={kkms.reload} />}
    </Screen>
  );
}

/** POST /api/v1/kkms (manual §3.3): a new KKM at a point, awaiting the KGD (or registered). */
function RegisterKkm({ onDone }: { onDone(): void }) {
  const t = useT();
  const points = useLoad(loadPoints, []);
  const [form, setForm] = useState({
    pointId: '',
    serialNumber: '',
    model: '',
    name: '',
    year: String(new Date().getFullYear()),
  });
  const [error, setError] = useState<Refusal | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const errorAt = (field: string) => (error?.field === field ? error.text : null);
  const options = (points.data ?? []).map((p) => ({ value: String(p.id), label: p.title }));
  const pointId = form.pointId || options[0]?.value || '';
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const { data, error, response } = await api.POST('/api/v1/kkms', {
      body: {
        pointId: Number(pointId),
        serialNumber: form.serialNumber,
        model: form.model,
        name: form.name,
        year: Number(form.year),
      },
    });
    if (!data) return setError(refusal(error, response));
    const status = t.documents.statuses[data.status] ?? data.status;
    setDone(fmt(t.kkms.registered, { id: data.id, status }));
    onDone();
  };
  const fields = ['pointId', 'serialNumber', 'model', 'name', 'year'];
  return (
    <form class="card" onSubmit={submit} aria-labelledby="register-kkm">
      <h2 id="register-kkm">{t.kkms.register}</h2>
      <Select label={t.kkms.point} value={pointId} options={options} onChange={set('pointId')} />
      <ErrorMessage message={errorAt('pointId')} />
      <Field
        label={t.kkms.serial}
        value={form.serialNumber}
        onInput={set('serialNumber')}
        required
        error={errorAt('serialNumber')}
      />
      <Field
        label={t.kkms.model}
        value={form.model}
        onInput={set('model')}
        required
        error={errorAt('model')}
      />
      <Field
        label={t.kkms.name}
        value={form.name}
        onInput={set('name')}
        required
        error={errorAt('name')}
      />
      <Field
        label={t.kkms.year}
        value={form.year}
        onInput={set('year')}
        inputMode="numeric"
        required
        error={errorAt('year')}
      />
      <ErrorMessage message={error && !fields.includes(error.field ?? '') ? error.text : null} />
      {done && <Notice>{done}</Notice>}
      <button type="submit">{t.kkms.submitRegistration}</button>
    </form>
  );
}
