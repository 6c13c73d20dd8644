// Operator view and control of forwarding to the tax authority (admin bearer, like the rest of
// /api/v1/admin): GET /api/v1/admin/forwarding reports each transport's state (backlog, lag,
// who forwards, the last batch, replays), POST /api/v1/admin/forwarding/replay asks the
// forwarders to send again everything received at or after a time, for one KKM or all. The
// replay is applied by the process holding the transport's lease, between two batches.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { ForwardingStore, Replay } from '../storage/forwarding.js';
import { ADMIN_PREFIX } from './admin.js';
import { requireAdminToken } from './admin-token.js';
import { sendError } from './http/conventions.js';

export interface AdminForwardingOptions {
  store: ForwardingStore;
  adminToken: string;
  /** The configured transports and where each sends (no secrets). */
  transports: { name: string; destination: Record<string, unknown> }[];
}

const ISO_TIME =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})$';
const Time = Type.Union([Type.String(), Type.Null()]);

const ReplayView = Type.Object({
  transport: Type.String(),
  id: Type.String(),
  kkmId: Type.Union([Type.Integer(), Type.Null()]),
  from: Type.String(),
  requestedAt: Type.String(),
  appliedAt: Time,
  rewound: Type.Integer(),
});

const TransportState = Type.Object({
  name: Type.String(),
  destination: Type.Record(Type.String(), Type.Unknown()),
  backlog: Type.Object({
    documents: Type.Integer(),
    events: Type.Integer(),
    kkms: Type.Integer(),
  }),
  lagSeconds: Type.Number(),
  forwarder: Type.Union([
    Type.Object({
      holder: Type.String(),
      updatedAt: Type.String(),
      lastBatchAt: Time,
      lastBatchDocuments: Type.Integer(),
      lastOkAt: Time,
      lastError: Type.Union([Type.String(), Type.Null()]),
      consecutiveFailures: Type.Integer(),
      lagAlertSince: Time,
    }),
    Type.Null(),
  ]),
  replays: Type.Array(ReplayView),
});

const StateAnswer = Type.Object({ transports: Type.Array(TransportState) });

const ReplayBody = Type.Object(
  {
    from: Type.String({ pattern: ISO_TIME, description: 'receive time, ISO 8601 with a zone' }),
    kkmId: Type.Optional(Type.Integer({ minimum: 1, maximum: 4294967295 })),
    transport: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
  },
  { additionalProperties: false },
);
type ReplayBody = Static<typeof ReplayBody>;

const ReplayAnswer = Type.Object({ replays: Type.Array(ReplayView) });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const replayView = (r: Replay): Static<typeof ReplayView> => ({
  transport: r.transport,
  id: r.id,
  kkmId: r.kkmId || null,
  from: new Date(r.from).toISOString(),
  requestedAt: new Date(r.requestedAt).toISOString(),
  appliedAt: iso(r.appliedAt),
  rewound: r.rewound,
});

export async function adminForwardingRoutes(app: FastifyInstance, opts: AdminForwardingOptions) {
  const { store, transports } = opts;
  if (!opts.adminToken) throw new Error('admin forwarding routes need an admin token');
  requireAdminToken(app, opts.adminToken);
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.get(
    `${ADMIN_PREFIX}/forwarding`,
    {
      schema: {
        summary: 'State of forwarding to the tax authority, per transport',
        tags: ['admin'],
        response: { 200: StateAnswer },
      },
    },
    async (): Promise<Static<typeof StateAnswer>> => ({
      transports: await Promise.all(
        transports.map(async ({ name, destination }) => {
          const [pending, status, replays] = await Promise.all([
            store.pending(name),
            store.status(name),
            store.replays(name, { limit: 20 }),
          ]);
          const oldest = await store.oldestPending(pending);
          return {
            name,
            destination,
            backlog: {
              documents: pending.reduce((n, p) => n + p.head.doc - p.forwarded.doc, 0),
              events: pending.reduce((n, p) => n + p.head.event - p.forwarded.event, 0),
              kkms: pending.length,
            },
            lagSeconds: oldest === null ? 0 : Math.max(0, Date.now() - oldest) / 1000,
            forwarder: status && {
              ...status,
              updatedAt: new Date(status.updatedAt).toISOString(),
              lastBatchAt: iso(status.lastBatchAt),
              lastOkAt: iso(status.lastOkAt),
              lagAlertSince: iso(status.lagAlertSince),
            },
            replays: replays.map(replayView),
          };
        }),
      ),
    }),
  );

  typed.post(
    `${ADMIN_PREFIX}/forwarding/replay`,
    {
      schema: {
        summary: 'Send again what was received at or after a time, for one KKM or all',
        tags: ['admin'],
        body: ReplayBody,
        response: { 202: ReplayAnswer },
      },
    },
    async (req, reply) => {
      const body: ReplayBody = req.body;
      const from = Date.parse(body.from);
      if (!Number.isFinite(from)) {
        return sendError(reply, 400, `body/from ${body.from} is not a valid time`);
      }
      if (from > Date.now()) return sendError(reply, 400, 'body/from is in the future');
      const names = transports.map((t) => t.name);
      if (!names.length)
        return sendError(reply, 409, 'no forwarding transport runs (OFD_FORWARD=off)');
      if (body.transport !== undefined && !names.includes(body.transport)) {
        return sendError(reply, 400, `body/transport must be one of ${names.join(', ')}`);
      }
      const replays = await store.requestReplay(
        body.transport === undefined ? names : [body.transport],
        body.kkmId ?? 0,
        from,
      );
      req.log.info(
        { action: 'forwarding.replay', kkmId: body.kkmId ?? 'all', from: body.from },
        'admin: forwarding replay requested',
      );
      return reply.code(202).send({ replays: replays.map(replayView) });
    },
  );
}
