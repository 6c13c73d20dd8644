// Helpers for the cabinet read-route tests: sessions made directly in Redis (for the owner, and
// for a sub-user inserted straight into `users`), authenticated GETs through app.inject, and
// receipts sent by a real KKM over TCP at chosen device times.
import { Sessions } from '../../src/api/cabinet/sessions.js';
import { requests, ticket, type TicketOptions } from '../../src/sim/documents.js';
import type { KkmDevice } from '../../src/sim/kkm-client.js';
import { ResultCode, type ITicketRequest } from '../../src/protocol/schema.js';
import type { TestServer } from './server.js';

import { rows } from './kkm.js';

export interface Got {
  status: number;
  json: any;
}

export async function get(server: TestServer, url: string, token?: string): Promise<Got> {
  const res = await server.app!.inject({
    method: 'GET',
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : null };
}

export const sessions = (server: TestServer) =>
  new Sessions(server.redis, server.config.redisPrefix);

/** A session of the org's owner (the user registered with login = BIN). */
export async function ownerToken(server: TestServer, bin: string): Promise<string> {
  const [owner] = await rows<{ user_id: number; org_id: number }>(
    server,
    `SELECT user_id, org_id FROM users FINAL WHERE login = {bin:String}`,
    { bin },
  );
  if (!owner) throw new Error(`no owner user for BIN ${bin}`);
  return (await sessions(server).create(Number(owner.user_id), Number(owner.org_id))).token;
}

let userCounter = 0;

/** Inserts a sub-user (role user) with these points and permissions; returns its session. */
export async function subUserToken(
  server: TestServer,
  orgId: number,
  pointIds: number[],
  permissions: string[],
): Promise<string> {
  const userId = 900_000 + process.pid * 10 + ++userCounter;
  await server.db.insert('users', [
    {
      user_id: userId,
      org_id: orgId,
      login: `sub${userId}`,
      password_hash: '',
      name: 'Sub user',
      email: `sub${userId}@example.kz`,
      role: 'user',
      point_ids: pointIds,
      group_ids: [],
      permissions,
      deleted: 0,
      created_at: new Date().toISOString().replace('T', ' ').replace('Z', ''),
      version: Date.now() * 1000 + userCounter,
    },
  ]);
  return (await sessions(server).create(userId, orgId)).token;
}

export interface Sent {
  request: ITicketRequest;
  number: string;
  qr: string;
  at: Date;
}

/** Sends a receipt at device time `at`; fails the test run on anything but OK. */
export async function sell(
  dev: KkmDevice,
  random: () => number,
  at: Date,
  opts: TicketOptions = {},
): Promise<Sent> {
  const request = ticket(random, { items: 1 + Math.floor(random() * 4), ...opts, at });
  const answer = await dev.send(requests.ticket(request));
  const code = answer.response.result.result_code;
  if (code !== ResultCode.RESULT_TYPE_OK) {
    throw new Error(`ticket refused: ${code} ${answer.response.result.result_text ?? ''}`);
  }
  return {
    request,
    number: answer.response.ticket!.ticket_number!,
    qr: Buffer.from(answer.response.ticket!.qr_code ?? []).toString('utf8'),
    at,
  };
}

/** Device wall clock 'YYYY-MM-DDThh:mm:ss' of a Date built from UTC fields (as dateTime() reads it). */
export const wall = (d: Date) => d.toISOString().slice(0, 19);
