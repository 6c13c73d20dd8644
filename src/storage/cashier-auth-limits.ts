// Failed COMMAND_AUTH attempts, counted in Redis (so every ingest process sees the same count):
// a cashier's password guessed on one register is refused after a few failures, as is a
// register trying many cashiers' logins. Counts expire on their own; a success clears the
// cashier's. Logins are hashed into the key names.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface CashierAuthLimitOptions {
  /** Failures of one cashier login on one register before its attempts are refused. */
  perCashier: number;
  /** Failures on one register, whatever the login, before its attempts are refused. */
  perDevice: number;
  /** How long failures are remembered, from the first (and so how long a lock lasts). */
  windowSeconds: number;
}

export const DEFAULT_CASHIER_AUTH_LIMITS: CashierAuthLimitOptions = {
  perCashier: 5,
  perDevice: 20,
  windowSeconds: 15 * 60,
};

export class CashierAuthLimits {
  readonly options: CashierAuthLimitOptions;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: Partial<CashierAuthLimitOptions> = {},
  ) {
    this.options = { ...DEFAULT_CASHIER_AUTH_LIMITS, ...options };
  }

  private keys(kkmId: number, login: string): [string, string] {
    const hashed = createHash('sha256').update(login).digest('hex').slice(0, 32);
    const p = `${this.prefix}cashier-fail:${kkmId}`;
    return [`${p}:${hashed}`, p];
  }

  /** Whether attempts for this cashier on this register are refused for now. */
  async locked(kkmId: number, login: string): Promise<boolean> {
    const [cashier, device] = await this.redis.mget(...this.keys(kkmId, login));
    return (
      Number(cashier ?? 0) >= this.options.perCashier ||
      Number(device ?? 0) >= this.options.perDevice
    );
  }

  async failed(kkmId: number, login: string): Promise<void> {
    const ms = this.options.windowSeconds * 1000;
    const m = this.redis.multi();
    for (const key of this.keys(kkmId, login)) m.incr(key).pexpire(key, ms, 'NX');
    await m.exec();
  }

  async succeeded(kkmId: number, login: string): Promise<void> {
    await this.redis.del(this.keys(kkmId, login)[0]);
  }
}
