// Торговые точки (manual §3.1, §6): the points of sale (GET /api/v1/points), adding one with
// its address in parts (POST) and deleting (DELETE; the server refuses a point with KKMs, 409,
// and the cabinet says why beside the point).
import { useState } from 'preact/hooks';
import { api, refusal, type Refusal } from '../api/client';
import { fmt, useT } from '../i18n';
import { AddressFields, emptyAddress, type Address } from '../lib/address';
import { loadPoints } from '../lib/points';
import { DataTable, ErrorMessage, Field, Loading, Notice, Screen, useLoad } from '../lib/ui';

export function PointsScreen() {
  const t = useT();
  const points = useLoad(loadPoints, []);
  const [title, setTitle] = useState('');
  const [address, setAddress] = useState<Address>(emptyAddress());
  const [error, setError] = useState<Refusal | null>(null);
  const [deleteError, setDeleteError] = useState<{ id: number; text: string } | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const errorAt = (field: string) => (error?.field === field ? error.text : null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setCreated(null);
    const { building, flat, ...required } = address;
    const {
      data,
      error: refused,
      response,
    } = await api.POST('/api/v1/points', {
      body: {
        title,
        address: { ...required, ...(building ? { building } : {}), ...(flat ? { flat } : {}) },
      },
    });
    if (!data) return setError(refusal(refused, response));
    setError(null);
    setCreated(fmt(t.points.created, { name: data.title }));
    setTitle('');
    setAddress(emptyAddress());
    points.reload();
  };
  const remove = async (id: number) => {
    const { error: refused, response } = await api.DELETE('/api/v1/points/{pointId}', {
      params: { path: { pointId: id } },
    });
    setDeleteError(response.ok ? null : { id, text: refusal(refused, response).text });
    points.reload();
  };
  const underField = error?.field === 'title' || error?.field?.startsWith('address/');
  return (
    <Screen title={t.points.title}>
      <Loading loaded={points} />
      {points.data && (
        <DataTable
          caption={t.points.caption}
          rows={points.data}
          rowKey={(p) => p.id}
          columns={[
            { header: t.points.name, cell: (p) => p.title },
            { header: t.points.address, cell: (p) => p.addressText },
            {
              header: t.delete,
              headerHidden: true,
              cell: (p) => (
                <>
                  <button
                    type="button"
                    onClick={() => remove(p.id)}
                    aria-label={fmt(t.points.deletePoint, { name: p.title })}
                  >
                    {t.delete}
                  </button>
                  {deleteError?.id === p.id && <ErrorMessage message={deleteError.text} />}
                </>
              ),
            },
          ]}
        />
      )}
      <form class="card" onSubmit={submit} aria-labelledby="new-point">
        <h2 id="new-point">{t.points.new}</h2>
        <Field
          label={t.points.name}
          value={title}
          onInput={setTitle}
          required
          error={errorAt('title')}
        />
        <AddressFields
          legend={t.points.address}
          value={address}
          onChange={setAddress}
          errorAt={(part) => errorAt(`address/${part}`)}
        />
        <ErrorMessage message={error && !underField ? error.text : null} />
        {created && <Notice>{created}</Notice>}
        <button type="submit">{t.add}</button>
      </form>
    </Screen>
  );
}
