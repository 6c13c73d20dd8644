// The organization's points of sale for the forms that grant or pick them (users, groups, KKM
// registration and re-registration): GET /api/v1/points.
import { api, errorText, type Json } from '../api/client';

export type Point = Json<'/api/v1/points', 'get'>['items'][number];
export type PointOption = Pick<Point, 'id' | 'title'>;

export async function loadPoints(): Promise<{ data?: Point[]; error: string | null }> {
  const { data, error, response } = await api.GET('/api/v1/points');
  return { data: data?.items, error: error ? errorText(error, response) : null };
}
