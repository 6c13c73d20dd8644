// Организация (manual §16): the organization's card (GET /api/v1/organization); editing with
// the "organization" permission (PUT, only the fields changed). BIN/IIN and the name come from
// the registration proof and are not editable. A refusal is shown under the field it names.
import { useState } from 'preact/hooks';
import { api, refusal, type Json, type paths, type Refusal } from '../api/client';
import type { Me } from '../app';
import { useT } from '../i18n';
import { AddressFields, addressText, emptyAddress, type Address } from '../lib/address';
import { RequisiteFields } from '../lib/requisites';
import { ErrorMessage, Field, Loading, Notice, Screen, Select, useLoad } from '../lib/ui';

type Org = Json<'/api/v1/organization', 'get'>;
type Patch = NonNullable<
  NonNullable<paths['/api/v1/organization']['put']['requestBody']>['content']['application/json']
>;

interface Form {
  legalForm: NonNullable<Org['legalForm']>;
  headPosition: string;
  headName: string;
  bik: string;
  iik: string;
  email: string;
  phone: string;
  legalAddress: Address;
}

const toForm = (o: Org): Form => ({
  legalForm: o.legalForm ?? 'legal_entity',
  headPosition: o.head?.position ?? '',
  headName: o.head?.name ?? '',
  bik: o.bank?.bik ?? '',
  iik: o.bank?.iik ?? '',
  email: o.email,
  phone: o.phone,
  legalAddress: { ...emptyAddress(), ...o.legalAddress },
});

/** The fields that differ from the card, as the PUT takes them (empty optional parts left out). */
function patchOf(o: Org, f: Form): Patch {
  const was = toForm(o);
  const patch: Patch = {};
  if (f.legalForm !== was.legalForm) patch.legalForm = f.legalForm;
  if (f.headPosition !== was.headPosition || f.headName !== was.headName)
    patch.head = { position: f.headPosition, name: f.headName };
  if (f.bik !== was.bik || f.iik !== was.iik) patch.bank = { bik: f.bik, iik: f.iik };
  if (f.email !== was.email) patch.email = f.email;
  if (f.phone !== was.phone) patch.phone = f.phone;
  if (JSON.stringify(f.legalAddress) !== JSON.stringify(was.legalAddress)) {
    const { building, flat, ...required } = f.legalAddress;
    patch.legalAddress = {
      ...required,
      ...(building ? { building } : {}),
      ...(flat ? { flat } : {}),
    };
  }
  return patch;
}

/** The refusals shown under a field of the form; any other is shown above the buttons. */
const UNDER_FIELD = /^(head|bank|email|phone)(\/|$)|^legalAddress\/\w+$/;

export function OrganizationScreen({ me }: { me: Me }) {
  const t = useT();
  const org = useLoad(async () => {
    const { data, error, response } = await api.GET('/api/v1/organization');
    return { data, error: error ? refusal(error, response).text : null };
  }, []);
  const [form, setForm] = useState<Form | null>(null);
  const [error, setError] = useState<Refusal | null>(null);
  const [saved, setSaved] = useState(false);
  // The PUT answers the card as stored: shown at once, without reading it again.
  const [stored, setStored] = useState<Org | null>(null);
  const o = stored ?? org.data;
  const set =
    <K extends keyof Form>(k: K) =>
    (v: Form[K]) =>
      form && setForm({ ...form, [k]: v });
  /** The refusal's words under the field it names (`bank/iik`, `legalAddress/house`). */
  const errorAt = (...fields: string[]) =>
    error?.field && fields.includes(error.field) ? error.text : null;
  const save = async (e: Event) => {
    e.preventDefault();
    if (!o || !form) return;
    const body = patchOf(o, form);
    if (Object.keys(body).length === 0) return setForm(null);
    const { data, error: refused, response } = await api.PUT('/api/v1/organization', { body });
    if (!data) return setError(refusal(refused, response));
    setError(null);
    setStored(data);
    setSaved(true);
    setForm(null);
  };
  const legalForms = [
    { value: 'legal_entity' as const, label: t.organization.legalEntity },
    { value: 'individual_entrepreneur' as const, label: t.organization.entrepreneur },
  ];
  return (
    <Screen title={t.organization.title}>
      <Loading loaded={org} />
      {o && !form && (
        <dl class="facts" data-testid="organization">
          <dt>{t.organization.bin}</dt>
          <dd>{o.bin}</dd>
          <dt>{t.organization.name}</dt>
          <dd>{o.name}</dd>
          <dt>{t.registration.legalForm}</dt>
          <dd>{legalForms.find((l) => l.value === o.legalForm)?.label ?? t.none}</dd>
          <dt>{t.organization.head}</dt>
          <dd>{o.head ? `${o.head.position}: ${o.head.name}` : t.none}</dd>
          <dt>{t.organization.bank}</dt>
          <dd>
            {o.bank
              ? `${t.registration.bik} ${o.bank.bik}, ${t.registration.iik} ${o.bank.iik}`
              : t.none}
          </dd>
          <dt>{t.registration.legalAddress}</dt>
          <dd>{o.legalAddress ? addressText(o.legalAddress) : o.address}</dd>
          <dt>{t.registration.email}</dt>
          <dd>{o.email || t.none}</dd>
          <dt>{t.registration.phone}</dt>
          <dd>{o.phone || t.none}</dd>
        </dl>
      )}
      {saved && !form && <Notice>{t.organization.saved}</Notice>}
      {o && me.permissions.includes('organization') && !form && (
        <button
          type="button"
          onClick={() => {
            setSaved(false);
            setError(null);
            setForm(toForm(o));
          }}
        >
          {t.organization.edit}
        </button>
      )}
      {form && (
        <form class="card" onSubmit={save} aria-labelledby="org-edit">
          <h2 id="org-edit">{t.organization.edit}</h2>
          <Select
            label={t.registration.legalForm}
            value={form.legalForm}
            options={legalForms}
            onChange={set('legalForm')}
          />
          <div class="grid">
            <RequisiteFields value={form} set={set} errorAt={errorAt} />
            <Field
              label={t.registration.email}
              type="email"
              value={form.email}
              onInput={set('email')}
              error={errorAt('email')}
            />
            <Field
              label={t.registration.phone}
              type="tel"
              value={form.phone}
              onInput={set('phone')}
              error={errorAt('phone')}
            />
          </div>
          <AddressFields
            legend={t.registration.legalAddress}
            value={form.legalAddress}
            onChange={set('legalAddress')}
            required={Boolean(o?.legalAddress) || Object.values(form.legalAddress).some(Boolean)}
            errorAt={(part) => errorAt(`legalAddress/${part}`)}
          />
          <ErrorMessage
            message={error && !UNDER_FIELD.test(error.field ?? '') ? error.text : null}
          />
          <button type="submit">{t.save}</button>{' '}
          <button type="button" onClick={() => setForm(null)}>
            {t.cancel}
          </button>
        </form>
      )}
    </Screen>
  );
}
