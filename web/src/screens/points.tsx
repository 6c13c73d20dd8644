// Торговые точки (manual §3.1, §6): the points of sale (GET /api/v1/points), adding one with
// its address in parts (POST), editing its title and address (PUT) and deleting (DELETE; the
// server refuses a point with KKMs, 409, and the cabinet says why beside the point).
import { useState } from 'preact/hooks';
import { api, refusal, type Refusal } from '../api/client';
import { fmt, useT } from '../i18n';
import { FormButtons, FormTitle, RowActions } from '../lib/edit';
import { AddressFields, emptyAddress, type Address } from '../lib/address';
import { loadPoints, type Point } from '../lib/points';
import { DataTable, ErrorMessage, Field, Loading, Notice, Screen, useLoad } from '../lib/ui';

export function PointsScreen() {
  const t = useT();
  const points = useLoad(loadPoints, []);
  const [deleteError, setDeleteError] = useState<{ id: number; text: string } | null>(null);
  const [editing, setEditing] = useState<Point | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const remove = async (id: number) => {
    const { error: refused, response } = await api.DELETE('/api/v1/points/{pointId}', {
      params: { path: { pointId: id } },
    });
    setDeleteError(response.ok ? null : { id, text: refusal(refused, response).text });
    points.reload();
  };
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
                <RowActions
                  editLabel={fmt(t.points.editPoint, { name: p.title })}
                  deleteLabel={fmt(t.points.deletePoint, { name: p.title })}
                  onEdit={() => {
                    setSaved(null);
                    setEditing(p);
                  }}
                  onDelete={() => remove(p.id)}
                  error={deleteError?.id === p.id ? deleteError.text : null}
                />
              ),
            },
          ]}
        />
      )}
      {saved && <Notice>{saved}</Notice>}
      <PointForm
        key={editing?.id ?? 'new'}
        point={editing ?? undefined}
        onDone={(changed) => {
          setEditing(null);
          if (changed && editing) setSaved(fmt(t.points.saved, { name: changed.title }));
          if (changed) points.reload();
        }}
      />
    </Screen>
  );
}

/** The new point's form, or, given `point`, its edit (PUT title and address). */
function PointForm({ point, onDone }: { point?: Point; onDone(changed?: Point): void }) {
  const t = useT();
  const [title, setTitle] = useState(point?.title ?? '');
  const [address, setAddress] = useState<Address>({ ...emptyAddress(), ...point?.address });
  const [error, setError] = useState<Refusal | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const errorAt = (field: string) => (error?.field === field ? error.text : null);
  // A point added by the operator may have its address as one line only: then the parts are
  // asked for only once one of them is typed.
  const addressGiven = !point || Boolean(point.address) || Object.values(address).some(Boolean);
  const submit = async (e: Event) => {
    e.preventDefault();
    setCreated(null);
    const { building, flat, ...required } = address;
    const parts = { ...required, ...(building ? { building } : {}), ...(flat ? { flat } : {}) };
    const {
      data,
      error: refused,
      response,
    } = point
      ? await api.PUT('/api/v1/points/{pointId}', {
          params: { path: { pointId: point.id } },
          body: { title, ...(addressGiven ? { address: parts } : {}) },
        })
      : await api.POST('/api/v1/points', { body: { title, address: parts } });
    if (!data) return setError(refusal(refused, response));
    setError(null);
    if (!point) {
      setCreated(fmt(t.points.created, { name: data.title }));
      setTitle('');
      setAddress(emptyAddress());
    }
    onDone(data);
  };
  const underField = error?.field === 'title' || error?.field?.startsWith('address/');
  const titleId = point ? 'edit-point' : 'new-point';
  return (
    <form class="card" onSubmit={submit} aria-labelledby={titleId}>
      <FormTitle id={titleId} editing={point?.id}>
        {point ? fmt(t.points.editTitle, { name: point.title }) : t.points.new}
      </FormTitle>
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
        required={addressGiven}
        errorAt={(part) => errorAt(`address/${part}`)}
      />
      <ErrorMessage message={error && !underField ? error.text : null} />
      {created && <Notice>{created}</Notice>}
      <FormButtons editing={Boolean(point)} onCancel={() => onDone()} />
    </form>
  );
}
