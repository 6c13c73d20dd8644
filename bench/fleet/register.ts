// Registers the simulated KKMs through the admin API, as an operator would: one organization,
// a point of sale per 100 registers, then the registers of each point with their tokens in one
// request (POST /api/v1/admin/points/:pointId/kkms/bulk).
import { randomBytes } from 'node:crypto';

export interface RegisteredDevice {
  kkmId: number;
  token: number;
}

export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(this.baseUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      // 503/409 "busy" are worth another try; anything else is a bug in the bench or server.
      if ((res.status === 503 || res.status === 429) && attempt < 10) {
        await new Promise((r) => setTimeout(r, 50 * attempt));
        continue;
      }
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
      return (text ? JSON.parse(text) : {}) as T;
    }
  }
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export async function registerFleet(
  admin: AdminClient,
  count: number,
  onProgress: (done: number) => void = () => {},
  concurrency = 8,
): Promise<RegisteredDevice[]> {
  const tag = randomBytes(3).toString('hex');
  const bin = `9${String(Date.now()).slice(-8)}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`;
  const org = await admin.call<{ id: number }>('POST', '/api/v1/admin/orgs', {
    bin,
    title: 'ТОО Fleet bench',
    address: 'Almaty, Abay 1',
    okved: '47111',
    password: 'Fleet-bench-pass1!',
  });
  const pointCount = Math.max(1, Math.ceil(count / 100));
  const points = await pool(
    Array.from({ length: pointCount }, (_, i) => i),
    concurrency,
    (i) =>
      admin.call<{ id: number }>('POST', `/api/v1/admin/orgs/${org.id}/points`, {
        title: `Shop ${i + 1}`,
        address: `Almaty, Abay ${i + 1}`,
      }),
  );
  let done = 0;
  const perPoint = await pool(points, 4, async (point, p) => {
    const n = Math.floor(count / pointCount) + (p < count % pointCount ? 1 : 0);
    const res = await admin.call<{ kkms: { id: number; token: number }[] }>(
      'POST',
      `/api/v1/admin/points/${point.id}/kkms/bulk`,
      {
        kkms: Array.from({ length: n }, (_, i) => ({
          serialNumber: `SN-${tag}-${p}-${i}`,
          model: 'Fleet KKM',
          fnsKkmId: `FNS-${tag}-${p}-${i}`,
        })),
      },
    );
    onProgress((done += n));
    return res.kkms.map((k) => ({ kkmId: k.id, token: k.token }));
  });
  return perPoint.flat();
}
