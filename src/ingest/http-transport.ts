// The same protocol over HTTP (POST /kkm, one frame per request body) and WebSocket (/kkm/ws,
// one binary message per frame), through the shared command core. @fastify/websocket is
// registered by the server (its maxPayload is the frame limit). An address over its request
// rate gets 429 on POST /kkm (before the body is read) and 254 answers on the WebSocket.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FrameError, parseFrame } from '../protocol/framer.js';
import { bodyDeadline, watchWebSocket, type TransportLimit } from './http-deadlines.js';
import type { KkmHandler } from './request-limits.js';

export interface KkmHttpOptions {
  handle: KkmHandler;
  /** The per-address request rate for POST /kkm: false answers 429. */
  admitAddress?: (address: string) => boolean;
  maxFrameBytes: number;
  /** As for TCP: a frame must arrive whole this soon after its first byte (0: no deadline). */
  frameDeadlineMs?: number;
  /** A WebSocket bringing no whole message this long is closed. */
  idleTimeoutMs?: number;
  onFrameError?: (error: FrameError) => void;
  /** A time limit cut a connection (metrics). */
  onLimit?: (limit: TransportLimit) => void;
}

export async function kkmHttpTransport(app: FastifyInstance, opts: KkmHttpOptions): Promise<void> {
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: opts.maxFrameBytes },
    (_req, body, done) => done(null, body),
  );

  const admit = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!opts.admitAddress || opts.admitAddress(req.ip)) return;
    reply.header('retry-after', '1');
    return reply
      .code(429)
      .send({ error: 'Too Many Requests', message: 'too many requests from this address' });
  };

  const deadline = async (req: FastifyRequest) =>
    bodyDeadline(req.raw, opts.frameDeadlineMs ?? 0, () => {
      req.log.warn({ deadlineMs: opts.frameDeadlineMs }, 'frame not complete within its deadline');
      opts.onLimit?.('http_frame_deadline');
    });

  const onRequest = [deadline, admit];
  app.post('/kkm', { bodyLimit: opts.maxFrameBytes, onRequest }, async (req, reply) => {
    if (!Buffer.isBuffer(req.body)) {
      return reply.code(415).send({
        error: 'Unsupported Media Type',
        message: 'send the frame as application/octet-stream',
      });
    }
    const frame = parseFrame(req.body, opts.maxFrameBytes);
    if (frame instanceof FrameError) {
      req.log.warn({ code: frame.code, reason: frame.message }, 'not a protocol frame');
      opts.onFrameError?.(frame);
      return reply.code(400).send({ error: 'Bad Request', message: frame.message });
    }
    const answer = await opts.handle(frame, {
      address: req.ip,
      addressAdmitted: opts.admitAddress !== undefined,
    });
    return reply.type('application/octet-stream').send(answer);
  });

  app.get('/kkm/ws', { websocket: true }, (socket, req) => {
    const peer = { address: req.ip };
    watchWebSocket(
      socket,
      req.raw,
      { frameDeadlineMs: opts.frameDeadlineMs ?? 0, idleTimeoutMs: opts.idleTimeoutMs ?? 120_000 },
      (limit) => {
        req.log.warn({ limit }, 'WebSocket register cut by a time limit');
        opts.onLimit?.(limit);
      },
    );
    let chain = Promise.resolve();
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      const frame = isBinary ? parseFrame(Buffer.from(data), opts.maxFrameBytes) : null;
      if (!frame || frame instanceof FrameError) {
        req.log.warn({ reason: frame?.message ?? 'text message' }, 'not a protocol frame');
        if (frame) opts.onFrameError?.(frame);
        socket.close(1007, 'not a protocol frame');
        return;
      }
      // Answers go back in request order.
      chain = chain.then(async () => {
        const answer = await opts.handle(frame, peer);
        if (socket.readyState === socket.OPEN) socket.send(answer, { binary: true });
      });
    });
  });
}
