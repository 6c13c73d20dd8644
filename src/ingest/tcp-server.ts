// The KKM TCP transport: frames in, answers out, in order, one connection per device session
// or per request. Limits: maximum connections (in all and per remote address), idle timeout,
// a deadline for each frame to arrive whole (slow senders), maximum frame size, and
// backpressure (a peer that does not read its answers is not read from either).
import net from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder, type Frame, type FrameError } from '../protocol/framer.js';
import { ConnectionsByAddress } from './address-connections.js';
import type { KkmHandler } from './request-limits.js';

/** Why a limit closed or refused a connection. */
export type ConnectionLimit =
  'frame_deadline' | 'idle_timeout' | 'max_connections' | 'address_connections';

export interface TcpServerOptions {
  port: number;
  host: string;
  maxConnections: number;
  /** Connections one remote address may hold at once (0 or unset: no limit). */
  maxConnectionsPerAddress?: number;
  idleTimeoutMs: number;
  /** A frame must be whole within this many ms of its first byte (0 or unset: no deadline). */
  frameDeadlineMs?: number;
  maxFrameBytes: number;
  /** Frames read ahead of the one being answered before the socket stops being read. */
  maxPipelined?: number;
  handle: KkmHandler;
  log: Logger;
  onConnectionsChanged?: (open: number) => void;
  onFrameError?: (error: FrameError) => void;
  /** A limit closed or refused a connection (metrics). */
  onLimit?: (limit: ConnectionLimit) => void;
}

export interface TcpServer {
  readonly port: number;
  readonly connections: number;
  /** Stops accepting, answers what is in flight, then closes every connection. */
  close(): Promise<void>;
}

export async function startTcpServer(opts: TcpServerOptions): Promise<TcpServer> {
  const sockets = new Set<net.Socket>();
  const inFlight = new Set<Promise<void>>();
  const maxPipelined = opts.maxPipelined ?? 8;
  const frameDeadlineMs = opts.frameDeadlineMs ?? 0;
  const byAddress = new ConnectionsByAddress(opts.maxConnectionsPerAddress ?? 0, opts.log);
  let closing = false;

  const server = net.createServer({ noDelay: true, keepAlive: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? '';
    if (!byAddress.admit(address)) {
      // Refused at once, before any per-connection work.
      socket.destroy();
      opts.onLimit?.('address_connections');
      return;
    }
    sockets.add(socket);
    opts.onConnectionsChanged?.(sockets.size);
    const peer = { address };
    const decoder = new FrameDecoder(opts.maxFrameBytes);
    const queue: Frame[] = [];
    let busy = false;
    socket.setTimeout(opts.idleTimeoutMs);

    // Slow senders: the idle timeout is reset by every byte, so a frame trickled a byte at a
    // time would hold the connection for ever. Each frame gets a deadline from its first byte.
    let deadline: NodeJS.Timeout | null = null;
    const stopDeadline = () => {
      if (deadline) clearTimeout(deadline);
      deadline = null;
    };
    const deadlinePassed = () => {
      deadline = null;
      if (socket.destroyed) return;
      if (socket.isPaused()) {
        // We stopped reading (backpressure): the rest may be waiting in the kernel.
        deadline = setTimeout(deadlinePassed, frameDeadlineMs);
        return;
      }
      opts.log.warn(
        { remote: address, buffered: decoder.bufferedBytes, deadlineMs: frameDeadlineMs },
        'frame not complete within its deadline; closing the connection',
      );
      opts.onLimit?.('frame_deadline');
      socket.destroy();
    };

    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      while (queue.length > 0 && !socket.destroyed) {
        const frame = queue.shift()!;
        const work = opts.handle(frame, peer).then((answer) => {
          if (socket.destroyed) return;
          if (!socket.write(answer)) {
            socket.pause();
            socket.once('drain', () => {
              if (queue.length < maxPipelined) socket.resume();
            });
          }
        });
        inFlight.add(work);
        try {
          await work;
        } finally {
          inFlight.delete(work);
        }
        if (queue.length < maxPipelined && socket.isPaused() && socket.writableLength === 0) {
          socket.resume();
        }
      }
      busy = false;
      if (closing && queue.length === 0) socket.end();
    };

    socket.on('data', (chunk: Buffer) => {
      let completed = false;
      decoder.push(
        chunk,
        (frame) => {
          queue.push(frame);
          completed = true;
        },
        (error) => {
          opts.log.warn(
            { remote: socket.remoteAddress, code: error.code, reason: error.message },
            'not a protocol frame; closing the connection',
          );
          opts.onFrameError?.(error);
          socket.destroy();
        },
      );
      if (frameDeadlineMs > 0) {
        // A frame completed here means the bytes left over began a new one in this chunk.
        if (completed || decoder.bufferedBytes === 0) stopDeadline();
        if (decoder.bufferedBytes > 0 && !deadline && !socket.destroyed) {
          deadline = setTimeout(deadlinePassed, frameDeadlineMs);
        }
      }
      if (queue.length >= maxPipelined) socket.pause();
      void pump();
    });
    socket.on('timeout', () => {
      opts.log.debug({ remote: socket.remoteAddress }, 'idle connection closed');
      opts.onLimit?.('idle_timeout');
      socket.destroy();
    });
    socket.on('error', (err) =>
      opts.log.debug({ err, remote: socket.remoteAddress }, 'socket error'),
    );
    socket.on('close', () => {
      stopDeadline();
      sockets.delete(socket);
      opts.onConnectionsChanged?.(sockets.size);
      byAddress.release(address);
    });
  });
  server.maxConnections = opts.maxConnections;
  // Node refuses connections past maxConnections itself; a flood logs a line every 5 s at most.
  let dropped = 0;
  let droppedLoggedAt = -Infinity;
  server.on('drop', (info) => {
    opts.onLimit?.('max_connections');
    dropped++;
    const now = performance.now();
    if (now - droppedLoggedAt < 5000) return;
    opts.log.warn(
      { remote: info?.remoteAddress, refused: dropped, limit: opts.maxConnections },
      'connection limit reached',
    );
    dropped = 0;
    droppedLoggedAt = now;
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  opts.log.info({ port: address.port }, 'KKM TCP server listening');

  return {
    port: address.port,
    get connections() {
      return sockets.size;
    },
    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
      for (const socket of sockets) {
        if (socket.writableLength === 0) socket.end();
      }
      const deadline = setTimeout(() => sockets.forEach((s) => s.destroy()), 5000);
      await stopped;
      clearTimeout(deadline);
    },
  };
}
