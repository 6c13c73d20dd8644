// The one admin HTTP client of tests and benches: the operator's bearer token, JSON in and out,
// and registering registers as an operator would (one organization, a point of sale per 100
// registers, the registers of each point with their tokens in one bulk request).
import { randomBytes } from 'node:crypto';

export interface RegisteredDevice {
  kkmId: number;
  token: number;
}

/** Where an admin API answers: a running server's HTTP port and the operator's token. */
export interface AdminTarget {
  httpPort: number;
  adminToken: string;
  host?: string;
}

let binCounter = 0;
/** A BIN no other test or bench run uses (time, process and a counter). */
export const uniqueBin = () =>
  `${String(Date.now() % 1e6).padStart(6, '0')}${String(process.pid % 1000).padStart(3, '0')}${String(++binCounter % 1000).padStart(3, '0')}`;

export class AdminClient {
  private readonly baseUrl: string;

  constructor(
    target: AdminTarget | string,
    private readonly token = typeof target === 'string' ? '' : target.adminToken,
  ) {
    this.baseUrl =
      typeof target === 'string'
        ? target
        : `http://${target.host ?? '127.0.0.1'}:${target.httpPort}`;
  }

  /** One request; the status and the parsed body, whatever the status. */
  async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: any; text: string }> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: the text says what happened
    }
    return { status: res.status, json, text };
  }

  /** A request that must succeed; "busy" answers (503, 429) are tried again a few times. */
  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.request(method, path, body);
      if ((res.status === 503 || res.status === 429) && attempt < 10) {
        await new Promise((r) => setTimeout(r, 50 * attempt));
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        throw new Error(`${method} ${path} → ${res.status} ${res.text}`);
      }
      return (res.json ?? {}) as T;
    }
  }
}

/** `new AdminClient(target).call(...)`, for a one-off request. */
export const adminCall = (target: AdminTarget, method: string, url: string, body?: unknown) =>
  new AdminClient(target).call(method, url, body);

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
  const org = await admin.call<{ id: number }>('POST', '/api/v1/admin/orgs', {
    bin: uniqueBin(),
    title: 'ТОО Fleet',
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

/** `count` registers with their tokens on the server at `target`. */
export const registerDevices = (target: AdminTarget, count: number) =>
  registerFleet(new AdminClient(target), count);
