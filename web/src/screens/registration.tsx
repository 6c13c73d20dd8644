// Регистрация организации (manual §1): the identity proof (a one-time password here; EDS
// through NCALayer), then the organization's data. POST /api/v1/auth/otp and
// /api/v1/registration are self-service routes: without them the screen says so.
import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { callUntyped } from '../api/client';
import { useT } from '../i18n';
import { AddressFields, emptyAddress, type Address } from '../lib/address';
import { ErrorMessage, Field, NotAvailable, Notice, PublicPage } from '../lib/ui';

export function RegistrationScreen() {
  const t = useT();
  const [proof, setProof] = useState({ iin: '', phone: '', code: '' });
  const [codeSent, setCodeSent] = useState(false);
  const [missing, setMissing] = useState(false);
  const [form, setForm] = useState({
    legalForm: '',
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
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const requestCode = async () => {
    const res = await callUntyped('POST', '/api/v1/auth/otp', {
      iin: proof.iin,
      phone: proof.phone,
    });
    if (res.ok) setCodeSent(true);
    else if (res.status === 404) setMissing(true);
    else setError(res.message);
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    const res = await callUntyped('POST', '/api/v1/registration', {
      proof: { method: 'otp', ...proof },
      password: form.password,
      legalForm: form.legalForm,
      name: form.name,
      head: { position: form.headPosition, name: form.headName },
      bank: form.bik || form.iik ? { bik: form.bik, iik: form.iik } : undefined,
      legalAddress: legal,
      actualAddress: same ? legal : actual,
      email: form.email,
      emailCode: form.emailCode,
      phone: proof.phone,
      agreement: agreed,
    });
    if (res.ok) setDone(true);
    else if (res.status === 404) setMissing(true);
    else setError(res.message);
  };
  return (
    <PublicPage>
      <section aria-labelledby="screen-title" class="card">
        <h1 id="screen-title">{t.registration.title}</h1>
        <p>
          <Link href="/">{t.registration.back}</Link>
        </p>
        {missing && <NotAvailable />}
        {done && <Notice>{t.registration.done}</Notice>}
        {!missing && !done && (
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
              />
              <Field
                label={t.login.phone}
                type="tel"
                value={proof.phone}
                onInput={(v) => setProof({ ...proof, phone: v })}
                required
              />
              {codeSent && (
                <Field
                  label={t.login.code}
                  value={proof.code}
                  onInput={(v) => setProof({ ...proof, code: v })}
                  required
                />
              )}
              <button type="button" onClick={requestCode}>
                {t.login.getCode}
              </button>
            </fieldset>
            <div class="grid">
              <Field
                label={t.registration.legalForm}
                value={form.legalForm}
                onInput={set('legalForm')}
              />
              <Field label={t.registration.name} value={form.name} onInput={set('name')} required />
              <Field
                label={t.registration.headPosition}
                value={form.headPosition}
                onInput={set('headPosition')}
              />
              <Field
                label={t.registration.headName}
                value={form.headName}
                onInput={set('headName')}
              />
              <Field label={t.registration.bik} value={form.bik} onInput={set('bik')} />
              <Field label={t.registration.iik} value={form.iik} onInput={set('iik')} />
              <Field
                label={t.registration.email}
                type="email"
                value={form.email}
                onInput={set('email')}
                required
              />
              <Field
                label={t.registration.emailCode}
                value={form.emailCode}
                onInput={set('emailCode')}
              />
              <Field
                label={t.registration.password}
                type="password"
                value={form.password}
                onInput={set('password')}
                required
                autoComplete="new-password"
                hint={t.registration.passwordRule}
              />
            </div>
            <AddressFields legend={t.registration.legalAddress} value={legal} onChange={setLegal} />
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
            <ErrorMessage message={error} />
            <button type="submit">{t.registration.submit}</button>
          </form>
        )}
      </section>
    </PublicPage>
  );
}
