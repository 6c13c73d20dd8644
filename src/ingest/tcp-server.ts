// The KKM TCP transport: frames in, answers out, in order, one connection per device session
// or per request. Limits: maximum connections, idle timeout, maximum frame size, and
// backpressure (a peer that does not read its answers is not read from either).
import net from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder, type Frame, type FrameError } from '../protocol/framer.js';

export interface TcpServerOptions {
  port: number;
  host: string;
  maxConnections: number;
  idleTimeoutMs: number;
  maxFrameBytes: number;
  /** Frames read ahead of the one being answered before the socket stops being read. */
  maxPipelined?: number;
  handle: (frame: Frame) => Promise<Buffer>;
  log: Logger;
  onConnectionsChanged?: (open: number) => void;
  onFrameError?: (error: FrameError) => void;
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
  let closing = false;

  const server = net.createServer({ noDelay: true, keepAlive: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    opts.onConnectionsChanged?.(sockets.size);
    const decoder = new FrameDecoder(opts.maxFrameBytes);
    const queue: Frame[] = [];
    let busy = false;
    socket.setTimeout(opts.idleTimeoutMs);

    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      while (queue.length > 0 && !socket.destroyed) {
        const frame = queue.shift()!;
        const work = opts.handle(frame).then((answer) => {
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
      decoder.push(
        chunk,
        (frame) => queue.push(frame),
        (error) => {
          opts.log.warn(
            { remote: socket.remoteAddress, code: error.code, reason: error.message },
            'not a protocol frame; closing the connection',
          );
          opts.onFrameError?.(error);
          socket.destroy();
        },
      );
      if (queue.length >= maxPipelined) socket.pause();
      void pump();
    });
    socket.on('timeout', () => {
      opts.log.debug({ remote: socket.remoteAddress }, 'idle connection closed');
      socket.destroy();
    });
    socket.on('error', (err) =>
      opts.log.debug({ err, remote: socket.remoteAddress }, 'socket error'),
    );
    socket.on('close', () => {
      sockets.delete(socket);
      opts.onConnectionsChanged?.(sockets.size);
    });
  });
  server.maxConnections = opts.maxConnections;
  server.on('drop', (info) =>
    opts.log.warn({ remote: info?.remoteAddress }, 'connection limit reached'),
  );

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
