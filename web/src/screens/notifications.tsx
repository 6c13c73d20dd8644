// Уведомления (manual §19): the notifications of today, the week or the month, new ones
// arriving live; marking read (the badge in the navigation follows).
import { useState } from 'preact/hooks';
import { api, errorText, type Json } from '../api/client';
import { fmt, useT } from '../i18n';
import type { Texts } from '../i18n/ru';
import { instant } from '../lib/format';
import { useLiveEvents } from '../lib/live';
import { ErrorMessage, Loading, Screen, useLoad } from '../lib/ui';

type Period = 'today' | 'week' | 'month';
type Item = Json<'/api/v1/notifications', 'get'>['items'][number];

/** The notification's words in the cabinet's language, when its kind is known; else the server's. */
export function notificationTitle(t: Texts, n: Pick<Item, 'kind' | 'title' | 'kkmId'>): string {
  const kind = n.kind.startsWith('reconciliation_') ? 'reconciliation' : n.kind;
  const text = t.notifications.kinds[kind];
  return text ? fmt(text, { kkm: n.kkmId }) : n.title;
}

export function NotificationsScreen() {
  const t = useT();
  const [period, setPeriod] = useState<Period>('today');
  const [error, setError] = useState<string | null>(null);
  const list = useLoad(async () => {
    const { data, error, response } = await api.GET('/api/v1/notifications', {
      params: { query: { period } },
    });
    return { data: data?.items, error: error ? errorText(error, response) : null };
  }, [period]);
  useLiveEvents((e) => e.type === 'notification' && list.reload());
  const markRead = async (ids: string[]) => {
    const { error, response } = await api.POST('/api/v1/notifications/read', { body: { ids } });
    setError(error ? errorText(error, response) : null);
    dispatchEvent(new Event('ofd:notifications-read'));
    list.reload();
  };
  const unread = (list.data ?? []).filter((n) => !n.readAt);
  return (
    <Screen title={t.notifications.title}>
      <fieldset class="tabs">
        <legend>{t.notifications.period}</legend>
        {(['today', 'week', 'month'] as const).map((p) => (
          <label key={p}>
            <input
              type="radio"
              name="period"
              checked={period === p}
              onChange={() => setPeriod(p)}
            />{' '}
            {t.notifications[p]}
          </label>
        ))}
      </fieldset>
      <Loading loaded={list} />
      <ErrorMessage message={error} />
      {list.data && list.data.length === 0 && <p>{t.notifications.empty}</p>}
      {unread.length > 0 && (
        <p>
          <button type="button" onClick={() => markRead(unread.map((n) => n.id))}>
            {t.notifications.markAllRead}
          </button>
        </p>
      )}
      {list.data && list.data.length > 0 && (
        <ul class="notifications" data-testid="notifications">
          {list.data.map((n) => (
            <li key={n.id} class={n.readAt ? 'read' : 'unread'}>
              <p>
                <strong>{notificationTitle(t, n)}</strong>
              </p>
              <p class="hint">
                <time dateTime={n.createdAt}>{instant(n.createdAt)}</time> ·{' '}
                {n.readAt
                  ? fmt(t.notifications.read, { at: instant(n.readAt) })
                  : t.notifications.unread}
              </p>
              {!n.readAt && (
                <button type="button" onClick={() => markRead([n.id])}>
                  {t.notifications.markRead}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Screen>
  );
}
