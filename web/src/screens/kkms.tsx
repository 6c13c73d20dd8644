// Кассы (manual §3, §9): the KKM list with status, open shift and last contact, refreshed by
// the live feed; registering a KKM where the server has the self-service route.
import { useRef, useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { api, callUntyped, errorText, type Json } from '../api/client';
import type { Me } from '../app';
import { fmt, useT } from '../i18n';
import { instant, wall } from '../lib/format';
import { useLiveEvents } from '../lib/live';
import { loadPoints, type PointOption } from '../lib/points';
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
      {me.role === 'owner' && (
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

/** POST /api/v1/kkms (self-service, manual §3.3): a new KKM at a point, awaiting the KGD. */
function RegisterKkm({ onDone }: { onDone(): void }) {
  const t = useT();
  const points = useLoad(async () => ({ data: (await loadPoints()).data }), []);
  const [form, setForm] = useState({
    pointId: '',
    serialNumber: '',
    model: '',
    name: '',
    year: '',
  });
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const options = (points.data ?? []).map((p: PointOption) => ({
    value: String(p.id),
    label: p.title,
  }));
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const res = await callUntyped<{ id: number; status: string }>('POST', '/api/v1/kkms', {
      pointId: Number(form.pointId || options[0]?.value),
      serialNumber: form.serialNumber,
      model: form.model,
      name: form.name,
      year: Number(form.year),
    });
    if (!res.ok) return setError(res.status === 404 ? t.notAvailable : res.message);
    setDone(fmt(t.kkms.registered, { id: res.data.id }));
    onDone();
  };
  return (
    <form class="card" onSubmit={submit}>
      <h2>{t.kkms.register}</h2>
      <Select
        label={t.kkms.point}
        value={form.pointId || options[0]?.value || ''}
        options={options}
        onChange={set('pointId')}
      />
      <Field
        label={t.kkms.serial}
        value={form.serialNumber}
        onInput={set('serialNumber')}
        required
      />
      <Field label={t.kkms.model} value={form.model} onInput={set('model')} required />
      <Field label={t.kkms.name} value={form.name} onInput={set('name')} />
      <Field label={t.kkms.year} value={form.year} onInput={set('year')} inputMode="numeric" />
      <ErrorMessage message={error} />
      {done && <Notice>{done}</Notice>}
      <button type="submit">{t.kkms.register}</button>
    </form>
  );
}
