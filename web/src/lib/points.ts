// The organization's points of sale for the forms that grant or pick them (users, groups, KKM
// registration): GET /api/v1/points where the server has it (self-service), else the points
// the caller's KKMs stand in.
import { api, callUntyped } from '../api/client';

export interface PointOption {
  id: number;
  title: string;
}

export async function loadPoints(): Promise<{ data: PointOption[]; fromRegistry: boolean }> {
  const own = await callUntyped<{ items: { id: number; title?: string; name?: string }[] }>(
    'GET',
    '/api/v1/points',
  );
  if (own.ok) {
    return {
      data: own.data.items.map((p) => ({ id: p.id, title: p.title ?? p.name ?? String(p.id) })),
      fromRegistry: true,
    };
  }
  const { data } = await api.GET('/api/v1/kkms');
  const byId = new Map<number, string>();
  for (const k of data?.items ?? []) byId.set(k.pointId, k.pointTitle || String(k.pointId));
  return {
    data: [...byId].map(([id, title]) => ({ id, title })).sort((a, b) => a.id - b.id),
    fromRegistry: false,
  };
}
