// The cabinet: the login until there is a session, then the sections of the manual in a
// navigation bar (only those the user's modules allow), the language switch and the live
// notification badge. Routes are in the URL's hash, so the server serves one index.html.
import { useEffect, useState } from 'preact/hooks';
import { Link, Route, Router, Switch, useLocation } from 'wouter-preact';
import { useHashLocation } from 'wouter-preact/use-hash-location';
import { api, session, type Json } from './api/client';
import { LangProvider, fmt, useT } from './i18n';
import { LanguageSwitch } from './lib/language-switch';
import { LiveProvider, useLiveEvents } from './lib/live';
import { ErrorMessage } from './lib/ui';
import { LoginScreen } from './screens/login';
import { RegistrationScreen } from './screens/registration';
import { KkmsScreen } from './screens/kkms';
import { KkmScreen } from './screens/kkm';
import { ReceiptScreen } from './screens/receipt';
import { AnalyticsScreen } from './screens/analytics';
import { UsersScreen } from './screens/users';
import { GroupsScreen } from './screens/groups';
import { NotificationsScreen } from './screens/notifications';
import { OrganizationScreen } from './screens/organization';
import { PointsScreen } from './screens/points';
import { ServiceCentresScreen } from './screens/service-centres';
import { DocumentsScreen } from './screens/documents';

export type Me = Json<'/api/v1/me', 'get'>;

export function App() {
  return (
    <LangProvider>
      <Router hook={useHashLocation}>
        <Session />
      </Router>
    </LangProvider>
  );
}

function Session() {
  const [token, setToken] = useState(session.token);
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  const end = () => {
    session.set(null);
    setToken(null);
    setMe(null);
  };
  useEffect(() => session.onUnauthorized(end), []);
  useEffect(() => {
    if (!token) return;
    api.GET('/api/v1/me').then(({ data, error }) => {
      if (data) setMe(data);
      else setError(error ? String((error as { message?: string }).message) : null);
    });
  }, [token]);
  const loggedIn = (t: string) => {
    session.set(t);
    setToken(t);
  };
  if (!token) {
    return (
      <Switch>
        <Route path="/register">
          <RegistrationScreen />
        </Route>
        <Route>
          <LoginScreen onLoggedIn={loggedIn} />
        </Route>
      </Switch>
    );
  }
  if (!me) return <ErrorMessage message={error} />;
  return (
    <LiveProvider token={token}>
      <Shell me={me} onLogout={end} />
    </LiveProvider>
  );
}

function UnreadBadge() {
  const t = useT();
  const [unread, setUnread] = useState<number | null>(null);
  const refresh = () =>
    api
      .GET('/api/v1/notifications/unread-count')
      .then(({ data }) => data && setUnread(data.unread));
  useEffect(() => {
    void refresh();
    // Marking read elsewhere on the page changes the count too.
    addEventListener('ofd:notifications-read', refresh);
    return () => removeEventListener('ofd:notifications-read', refresh);
  }, []);
  useLiveEvents((e) => {
    if (e.type === 'notification') void refresh();
  });
  if (!unread) return null;
  return (
    <span class="badge" data-testid="unread-badge" aria-label={fmt(t.nav.unread, { n: unread })}>
      {unread}
    </span>
  );
}

function Shell({ me, onLogout }: { me: Me; onLogout(): void }) {
  const t = useT();
  const [location] = useLocation();
  const can = (p: Me['permissions'][number]) => me.permissions.includes(p);
  const links: [string, string, boolean][] = [
    ['/', t.nav.kkms, true],
    ['/analytics', t.nav.analytics, can('analytics')],
    ['/users', t.nav.users, can('users')],
    ['/groups', t.nav.groups, can('users')],
    ['/organization', t.nav.organization, true],
    ['/points', t.nav.points, true],
    ['/service-centres', t.nav.serviceCentres, true],
    ['/documents', t.nav.documents, true],
  ];
  const current = (href: string) =>
    href === '/' ? location === '/' || location.startsWith('/kkms') : location.startsWith(href);
  const logout = async () => {
    await api.POST('/api/v1/auth/logout');
    onLogout();
  };
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        {t.skipToContent}
      </a>
      <header class="top">
        <span class="brand">{t.appTitle}</span>
        <span class="who">{me.login}</span>
        <LanguageSwitch />
        <button type="button" onClick={logout}>
          {t.logout}
        </button>
      </header>
      <nav class="sections" aria-label={t.nav.main}>
        <ul>
          {links
            .filter(([, , shown]) => shown)
            .map(([href, label]) => (
              <li key={href}>
                <Link href={href} aria-current={current(href) ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          <li>
            <Link
              href="/notifications"
              aria-current={current('/notifications') ? 'page' : undefined}
            >
              {t.nav.notifications} <UnreadBadge />
            </Link>
          </li>
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <Switch>
          <Route path="/">
            <KkmsScreen me={me} />
          </Route>
          <Route path="/kkms/:kkmId/tickets/:ticketNumber">
            {(p) => <ReceiptScreen kkmId={Number(p.kkmId)} ticketNumber={p.ticketNumber} />}
          </Route>
          <Route path="/kkms/:kkmId">
            {(p) => <KkmScreen key={p.kkmId} me={me} kkmId={Number(p.kkmId)} />}
          </Route>
          <Route path="/analytics">
            <AnalyticsScreen />
          </Route>
          <Route path="/users">
            <UsersScreen me={me} />
          </Route>
          <Route path="/groups">
            <GroupsScreen me={me} />
          </Route>
          <Route path="/notifications">
            <NotificationsScreen />
          </Route>
          <Route path="/organization">
            <OrganizationScreen me={me} />
          </Route>
          <Route path="/points">
            <PointsScreen />
          </Route>
          <Route path="/service-centres">
            <ServiceCentresScreen />
          </Route>
          <Route path="/documents">
            <DocumentsScreen />
          </Route>
        </Switch>
      </main>
    </>
  );
}
