// Торговые точки (manual §3.1, §6): the points of sale, creating one with its address in parts
// and deleting (the server refuses a point that has KKMs, 409, and says why).
// GET/POST/DELETE /api/v1/points are self-service routes: without them the screen says so.
import { useState } from 'preact/hooks';
import { callUntyped } from '../api/client';
import { fmt, useT } from '../i18n';
import { AddressFields, addressText, emptyAddress, type Address } from '../lib/address';
import {
  DataTable,
  ErrorMessage,
  Field,
  Loading,
  NotAvailable,
  Notice,
  Screen,
  useLoad,
} from '../lib/ui';

interface Point {
  id: number;
  title?: string;
  name?: string;
  address?: Partial<Address> | string;
  kkmCount?: number;
}

const pointName = (p: Point) => p.title ?? p.name ?? String(p.id);

export function PointsScreen() {
  const t = useT();
  const points = useLoad(async () => {
    const res = await callUntyped<{ items: Point[] }>('GET', '/api/v1/points');
    if (res.ok) return { data: { items: res.data.items, missing: false } };
    return res.status === 404 ? { data: { items: [], missing: true } } : { error: res.message };
  }, []);
  const [title, setTitle] = useState('');
  const [address, setAddress] = useState<Address>(emptyAddress());
  const [error, setError] = useState<{ where: string; text: string } | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const res = await callUntyped<Point>('POST', '/api/v1/points', { title, address });
    if (!res.ok) return setError({ where: 'form', text: res.message });
    setError(null);
    setCreated(fmt(t.points.created, { name: title }));
    setTitle('');
    setAddress(emptyAddress());
    points.reload();
  };
  const remove = async (id: number) => {
    const res = await callUntyped('DELETE', `/api/v1/points/${id}`);
    setError(res.ok ? null : { where: String(id), text: res.message });
    points.reload();
  };
  if (points.data?.missing) {
    return (
      <Screen title={t.points.title}>
        <NotAvailable />
      </Screen>
    );
  }
  return (
    <Screen title={t.points.title}>
      <Loading loaded={points} />
      {points.data && (
        <DataTable
          caption={t.points.caption}
          rows={points.data.items}
          rowKey={(p) => p.id}
          columns={[
            { header: t.points.name, cell: (p) => pointName(p) },
            { header: t.points.address, cell: (p) => addressText(p.address) },
            {
              header: t.delete,
              headerHidden: true,
              cell: (p) => (
                <>
                  <button
                    type="button"
                    onClick={() => remove(p.id)}
                    aria-label={fmt(t.points.deletePoint, { name: pointName(p) })}
                  >
                    {t.delete}
                  </button>
                  {error?.where === String(p.id) && <ErrorMessage message={error.text} />}
                </>
              ),
            },
          ]}
        />
      )}
      <form class="card" onSubmit={submit} aria-labelledby="new-point">
        <h2 id="new-point">{t.points.new}</h2>
        <Field label={t.points.name} value={title} onInput={setTitle} required />
        <AddressFields legend={t.points.address} value={address} onChange={setAddress} />
        <ErrorMessage message={error?.where === 'form' ? error.text : null} />
        {created && <Notice>{created}</Notice>}
        <button type="submit">{t.add}</button>
      </form>
    </Screen>
  );
}
