// Raises notifications: stored (Notifications.raise, deduplicated by kind and subject), then
// announced as 'notification.raised' events (the live feed pushes them to the organization).
import type { NewNotification, Notifications } from '../storage/notifications.js';
import type { DomainEvents } from './events.js';

export class Notifier {
  constructor(
    private readonly notifications: Notifications,
    private readonly events: DomainEvents,
  ) {}

  async raise(list: NewNotification[]): Promise<void> {
    if (!list.length) return;
    const ids = await this.notifications.raise(list);
    for (const [i, n] of list.entries()) {
      await this.events.emit('notification.raised', { ...n, id: ids[i]! });
    }
  }
}
