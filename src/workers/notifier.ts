// Raises notifications from the workers: stored (Notifications.raise, deduplicated by kind and
// subject) and pushed to the org's live feed as type 'notification'.
import type { LiveFeed } from '../telemetry/live-feed.js';
import type { NewNotification, Notifications } from '../storage/notifications.js';

export class Notifier {
  constructor(
    private readonly notifications: Notifications,
    private readonly feed: LiveFeed,
  ) {}

  async raise(list: NewNotification[]): Promise<void> {
    if (!list.length) return;
    const ids = await this.notifications.raise(list);
    list.forEach((n, i) =>
      this.feed.publish({
        type: 'notification',
        orgId: n.orgId,
        pointId: n.pointId ?? 0,
        kkmId: n.kkmId ?? 0,
        id: ids[i],
        kind: n.kind,
        title: n.title,
        detail: n.detail ?? {},
        at: (n.createdAt ?? new Date()).toISOString(),
      }),
    );
  }
}
