// Организация (manual §16): the organization's details; editing with the "organization"
// permission. BIN/IIN and the name come from the certificate and are not editable.
// GET/PUT /api/v1/organization are self-service routes: without them the screen says so.
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { callUntyped } from '../api/client';
import type { Me } from '../app';
import { useT } from '../i18n';
import { ErrorMessage, Field, Loading, NotAvailable, Notice, Screen, useLoad } from '../lib/ui';

type Org = Record<string, unknown> & { bin?: string; name?: string; title?: string };

const EDITABLE = ['email', 'phone', 'bik', 'iik', 'headPosition', 'headName'] as const;

export function OrganizationScreen({ me }: { me: Me }) {
  const t = useT();
  const org = useLoad<{ org: Org | null; missing: boolean }>(async () => {
    const res = await callUntyped<Org>('GET', '/api/v1/organization');
    if (res.ok) return { data: { org: res.data, missing: false } };
    return res.status === 404 ? { data: { org: null, missing: true } } : { error: res.message };
  }, []);
  const [form, setForm] = useState<Record<string, string> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const o = org.data?.org;
  const labels: Record<(typeof EDITABLE)[number], string> = {
    email: t.registration.email,
    phone: t.registration.phone,
    bik: t.registration.bik,
    iik: t.registration.iik,
    headPosition: t.registration.headPosition,
    headName: t.registration.headName,
  };
  const save = async (e: Event) => {
    e.preventDefault();
    const res = await callUntyped('PUT', '/api/v1/organization', form);
    setError(res.ok ? null : res.message);
    setSaved(res.ok);
    if (res.ok) {
      setForm(null);
      org.reload();
    }
  };
  return (
    <Screen title={t.organization.title}>
      <Loading loaded={org} />
      {org.data?.missing && <NotAvailable />}
      {o && (
        <dl class="facts">
          <dt>{t.organization.bin}</dt>
          <dd>{String(o.bin ?? '')}</dd>
          <dt>{t.organization.name}</dt>
          <dd>{String(o.name ?? o.title ?? '')}</dd>
          {EDITABLE.filter((k) => o[k] !== undefined).map((k) => (
            <Fragment key={k}>
              <dt>{labels[k]}</dt>
              <dd>{String(o[k])}</dd>
            </Fragment>
          ))}
        </dl>
      )}
      {saved && <Notice>{t.organization.saved}</Notice>}
      {o && me.permissions.includes('organization') && !form && (
        <button
          type="button"
          onClick={() => setForm(Object.fromEntries(EDITABLE.map((k) => [k, String(o[k] ?? '')])))}
        >
          {t.organization.edit}
        </button>
      )}
      {form && (
        <form class="card" onSubmit={save}>
          {EDITABLE.map((k) => (
            <Field
              key={k}
              label={labels[k]}
              value={form[k] ?? ''}
              onInput={(v) => setForm({ ...form, [k]: v })}
            />
          ))}
          <ErrorMessage message={error} />
          <button type="submit">{t.save}</button>{' '}
          <button type="button" onClick={() => setForm(null)}>
            {t.cancel}
          </button>
        </form>
      )}
    </Screen>
  );
}
