// Вход в личный кабинет (manual §2): login (BIN/IIN) and password; EDS and a one-time password
// (NCALayer) and a one-time password by SMS; the refusal shown under the form.
import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { api, errorText } from '../api/client';
import { fmt, useLang } from '../i18n';
import { signWithNcaLayer } from '../lib/ncalayer';
import { ErrorMessage, Field, Notice, PublicPage } from '../lib/ui';

type Method = 'password' | 'eds' | 'otp';

export function LoginScreen({ onLoggedIn }: { onLoggedIn(token: string): void }) {
  const { t } = useLang();
  const [method, setMethod] = useState<Method>('password');
  return (
    <PublicPage>
      <section aria-labelledby="screen-title" class="card narrow">
        <h1 id="screen-title">{t.login.title}</h1>
        <fieldset class="tabs">
          <legend>{t.login.methods}</legend>
          {(['password', 'eds', 'otp'] as const).map((m) => (
            <label key={m}>
              <input
                type="radio"
                name="method"
                checked={method === m}
                onChange={() => setMethod(m)}
              />{' '}
              {t.login[m]}
            </label>
          ))}
        </fieldset>
        {method === 'password' && <PasswordLogin onLoggedIn={onLoggedIn} />}
        {method === 'eds' && <EdsLogin onLoggedIn={onLoggedIn} />}
        {method === 'otp' && <OtpLogin onLoggedIn={onLoggedIn} />}
        <p>
          <Link href="/register">{t.login.register}</Link>
        </p>
      </section>
    </PublicPage>
  );
}

function PasswordLogin({ onLoggedIn }: { onLoggedIn(token: string): void }) {
  const { t } = useLang();
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const { data, error, response } = await api.POST('/api/v1/auth/login', {
      body: { login, password },
    });
    setBusy(false);
    if (data) onLoggedIn(data.token);
    // The server's 401 is the same for a wrong login and a wrong password: said in the
    // cabinet's language. Other refusals (too many attempts, …) in the server's words.
    else setError(response.status === 401 ? t.login.wrong : errorText(error, response));
  };
  return (
    <form onSubmit={submit} aria-describedby={error ? 'login-error' : undefined}>
      <Field
        label={t.login.login}
        value={login}
        onInput={setLogin}
        autoComplete="username"
        required
      />
      <Field
        label={t.login.passwordField}
        type="password"
        value={password}
        onInput={setPassword}
        autoComplete="current-password"
        required
        error={error}
      />
      <button type="submit" disabled={busy}>
        {t.login.submit}
      </button>
    </form>
  );
}

function EdsLogin({ onLoggedIn }: { onLoggedIn(token: string): void }) {
  const { t } = useLang();
  const [error, setError] = useState<string | null>(null);
  const sign = async () => {
    setError(null);
    const challenge = await api.POST('/api/v1/auth/challenge');
    if (!challenge.data) return setError(errorText(challenge.error, challenge.response));
    let signature: string;
    try {
      signature = await signWithNcaLayer(challenge.data.challenge);
    } catch {
      return setError(t.login.edsNoLayer);
    }
    const { data, error, response } = await api.POST('/api/v1/auth/login', {
      body: { method: 'eds', challenge: challenge.data.challenge, signature },
    });
    if (data) onLoggedIn(data.token);
    else setError(errorText(error, response));
  };
  return (
    <div>
      <p>{t.login.edsNote}</p>
      <button type="button" onClick={sign} aria-describedby={error ? 'eds-error' : undefined}>
        {t.login.edsSign}
      </button>
      <ErrorMessage message={error} id="eds-error" />
    </div>
  );
}

function OtpLogin({ onLoggedIn }: { onLoggedIn(token: string): void }) {
  const { t } = useLang();
  const [iin, setIin] = useState('');
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const requestCode = async (e: Event) => {
    e.preventDefault();
    const { data, error, response } = await api.POST('/api/v1/auth/otp', { body: { iin, phone } });
    if (data) setSent(true);
    setError(data ? null : errorText(error, response));
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    const { data, error, response } = await api.POST('/api/v1/auth/login', {
      body: { method: 'otp', iin, phone, code },
    });
    if (data) onLoggedIn(data.token);
    else setError(errorText(error, response));
  };
  return (
    <form onSubmit={sent ? submit : requestCode}>
      <p>{t.login.otpNote}</p>
      <Field label={t.login.iin} value={iin} onInput={setIin} inputMode="numeric" required />
      <Field label={t.login.phone} type="tel" value={phone} onInput={setPhone} required />
      {sent && (
        <>
          <Notice>{fmt(t.login.codeSent, { phone })}</Notice>
          <Field label={t.login.code} value={code} onInput={setCode} autoComplete="one-time-code" />
        </>
      )}
      <ErrorMessage message={error} />
      <button type="submit">{sent ? t.login.submit : t.login.getCode}</button>
    </form>
  );
}
