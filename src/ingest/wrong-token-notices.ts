// Requests for a device that fail its token check: someone who knows its ID (they are printed
// in every ticket number) or a register with a stale token. Each is counted; the device's
// organization hears about it at most once per window, with the count and the last address,
// so a flood cannot flood the notifications too.
export interface WrongTokenNotice {
  kkmId: number;
  /** Wrong-token requests since the last notice. */
  count: number;
  address: string;
  since: Date;
}

export class WrongTokenNotices {
  private readonly pending = new Map<number, WrongTokenNotice>();
  private readonly lastSent = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly send: (notice: WrongTokenNotice) => void,
    private readonly windowMs = 10 * 60_000,
    /** Devices tracked at once; past it new ones wait for the next window. */
    private readonly maxDevices = 10_000,
  ) {
    this.timer = setInterval(() => this.flush(), Math.min(windowMs, 10_000));
    this.timer.unref();
  }

  record(kkmId: number, address: string, now = Date.now()): void {
    const entry = this.pending.get(kkmId);
    if (entry) {
      entry.count++;
      entry.address = address;
    } else if (this.pending.size < this.maxDevices) {
      this.pending.set(kkmId, { kkmId, count: 1, address, since: new Date(now) });
    }
    if (now - (this.lastSent.get(kkmId) ?? -Infinity) >= this.windowMs) this.flushOne(kkmId, now);
  }

  /** Sends what is due: devices whose window has passed. */
  flush(now = Date.now()): void {
    for (const kkmId of this.pending.keys()) {
      if (now - (this.lastSent.get(kkmId) ?? -Infinity) >= this.windowMs) this.flushOne(kkmId, now);
    }
    for (const [kkmId, at] of this.lastSent) {
      if (now - at >= this.windowMs && !this.pending.has(kkmId)) this.lastSent.delete(kkmId);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private flushOne(kkmId: number, now: number): void {
    const notice = this.pending.get(kkmId);
    if (!notice) return;
    this.pending.delete(kkmId);
    this.lastSent.set(kkmId, now);
    this.send(notice);
  }
}
