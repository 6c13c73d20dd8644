// Регистрация организации (manual §1): the identity proof (a one-time password by SMS,
// POST /api/v1/auth/otp), the e-mail confirmed by a code (POST /api/v1/registration/email-code),
// then the organization's data (POST /api/v1/registration). A refusal is shown under the field
// it names.
import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { api, refusal, type Refusal } from '../api/client';
import { useT } from '../i18n';
import { AddressFields, emptyAddress, type Address } from '../lib/address';
import { RequisiteFields } from '../lib/requisites';
import { ErrorMessage, Field, Notice, PublicPage, Select } from '../lib/ui';

type LegalForm = 'legal_entity' | 'individual_entrepreneur';
/** The address as the API takes it: the optional parts left out when empty. */
const addressBody = ({ building, flat, ...required }: Address) => ({
  ...required,
  ...(building ? { building } : {}),
  ...(flat ? { flat } : {}),
});

export function RegistrationScreen() {
  const t = useT();
  const [proof, setProof] = useState({ iin: '', phone: '', code: '' });
  const [codeSent, setCodeSent] = useState(false);
  const [emailCodeSent, setEmailCodeSent] = useState(false);
  const [legalForm, setLegalForm] = useState<LegalForm>('individual_entrepreneur');
  const [form, setForm] = useState({
    name: '',
    headPosition: '',
    headName: '',
    bik: '',
    iik: '',
    email: '',
    emailCode: '',
    password: '',
  });
  const [legal, setLegal] = useState<Address>(emptyAddress());
  const [actual, setActual] = useState<Address>(emptyAddress());
  const [same, setSame] = useState(true);
  const [agreed, setAgreed] = useState(false);
  const [error, setError] = useState<Refusal | null>(null);
  const [done, setDone] = useState(false);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  /** The refusal's words under the field it names (`proof/iin` → the IIN, `head/name`, …). */
  const errorAt = (...fields: string[]) =>
    error?.field && fields.includes(error.field) ? error.text : null;
  const requestCode = async () => {
    const res = await api.POST('/api/v1/auth/otp', {
      body: { iin: proof.iin, phone: proof.phone },
    });
    if (res.data) setCodeSent(true);
    setError(res.data ? null : refusal(res.error, res.response));
  };
  const requestEmailCode = async () => {
    const res = await api.POST('/api/v1/registration/email-code', { body: { email: form.email } });
    if (res.data) setEmailCodeSent(true);
    setError(res.data ? null : refusal(res.error, res.response));
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    const { data, error, response } = await api.POST('/api/v1/registration', {
      body: {
        proof: { method: 'otp', ...proof },
        password: form.password,
        legalForm,
        name: form.name,
        ...(form.headPosition || form.headName
          ? { head: { position: form.headPosition, name: form.headName } }
          : {}),
        ...(form.bik || form.iik ? { bank: { bik: form.bik, iik: form.iik } } : {}),
        legalAddress: addressBody(legal),
        ...(same ? { actualSameAsLegal: true } : { actualAddress: addressBody(actual) }),
        email: form.email,
        emailCode: form.emailCode,
        phone: proof.phone,
        agreementAccepted: true,
      },
    });
    if (data) setDone(true);
    setError(data ? null : refusal(error, response));
  };
  const shown =
    /^(proof\/(iin|phone|code)|iin|phone|name|head(\/\w+)?|bank(\/\w+)?|email|emailCode|password|(legal|actual)Address\/\w+)$/;
  return (
    <PublicPage>
      <section aria-labelledby="screen-title" class="card">
        <h1 id="screen-title">{t.registration.title}</h1>
        <p>
          <Link href="/">{t.registration.back}</Link>
        </p>
        {done && <Notice>{t.registration.done}</Notice>}
        {!done && (
          <form onSubmit={submit}>
            <p class="hint">{t.registration.intro}</p>
            <fieldset class="grid">
              <legend>{t.registration.proof}</legend>
              <Field
                label={t.login.iin}
                value={proof.iin}
                onInput={(v) => setProof({ ...proof, iin: v })}
                inputMode="numeric"
                required
                error={errorAt('proof/iin', 'iin')}
              />
              <Field
                label={t.login.phone}
                type="tel"
                value={proof.phone}
                onInput={(v) => setProof({ ...proof, phone: v })}
                required
                error={errorAt('proof/phone', 'phone')}
              />
              {codeSent && (
                <Field
                  label={t.login.code}
                  value={proof.code}
                  onInput={(v) => setProof({ ...proof, code: v })}
                  required
                  error={errorAt('proof/code', 'code')}
                />
              )}
              <button type="button" onClick={requestCode}>
                {t.login.getCode}
              </button>
            </fieldset>
            <div class="grid">
              <Select<LegalForm>
                label={t.registration.legalForm}
                value={legalForm}
                options={[
                  { value: 'individual_entrepreneur', label: t.organization.entrepreneur },
                  { value: 'legal_entity', label: t.organization.legalEntity },
                ]}
                onChange={setLegalForm}
              />
              <Field
                label={t.registration.name}
                value={form.name}
                onInput={set('name')}
                required
                error={errorAt('name')}
              />
              <RequisiteFields value={form} set={set} errorAt={errorAt} />
              <Field
                label={t.registration.email}
                type="email"
                value={form.email}
                onInput={set('email')}
                required
                error={errorAt('email')}
              />
              <Field
                label={t.registration.emailCode}
                value={form.emailCode}
                onInput={set('emailCode')}
                error={errorAt('emailCode')}
              />
              <p>
                <button type="button" onClick={requestEmailCode}>
                  {t.registration.getEmailCode}
                </button>
              </p>
              {emailCodeSent && <Notice>{t.registration.emailCodeSent}</Notice>}
              <Field
                label={t.registration.password}
                type="password"
                value={form.password}
                onInput={set('password')}
                required
                autoComplete="new-password"
                hint={t.registration.passwordRule}
                error={errorAt('password')}
              />
            </div>
            <AddressFields
              legend={t.registration.legalAddress}
              value={legal}
              onChange={setLegal}
              errorAt={(part) => errorAt(`legalAddress/${part}`)}
            />
            <label>
              <input
                type="checkbox"
                checked={same}
                onChange={(e) => setSame((e.target as HTMLInputElement).checked)}
              />{' '}
              {t.registration.sameAsLegal}
            </label>
            {!same && (
              <AddressFields
                legend={t.registration.actualAddress}
                value={actual}
                onChange={setActual}
                errorAt={(part) => errorAt(`actualAddress/${part}`)}
              />
            )}
            <p>
              <label>
                <input
                  type="checkbox"
                  checked={agreed}
                  required
                  onChange={(e) => setAgreed((e.target as HTMLInputElement).checked)}
                />{' '}
                {t.registration.agreement}
              </label>
            </p>
            <ErrorMessage message={error && !shown.test(error.field ?? '') ? error.text : null} />
            <button type="submit">{t.registration.submit}</button>
          </form>
        )}
      </section>
    </PublicPage>
  );
}
