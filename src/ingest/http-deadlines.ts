// The TCP transport's time limits for registers over HTTP and WebSocket: a POST /kkm body, and
// each WebSocket message (fragments and all), must arrive whole within the frame deadline of
// its first byte; a WebSocket that brings no whole message for the idle timeout is closed.
// Without them a body trickled a byte at a time, or a message fragmented for ever, holds its
// connection indefinitely.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';

export type TransportLimit = 'http_frame_deadline' | 'ws_frame_deadline' | 'ws_idle_timeout';

/** Cuts the request's connection unless its body has arrived whole within `ms`. */
export function bodyDeadline(req: IncomingMessage, ms: number, onCut: () => void): void {
  if (ms <= 0 || req.complete) return;
  const timer = setTimeout(() => {
    onCut();
    req.socket.destroy();
  }, ms);
  const stop = () => clearTimeout(timer);
  req.once('end', stop);
  req.once('close', stop);
}

/** Applies the frame deadline and the idle timeout to one WebSocket register. */
export function watchWebSocket(
  ws: WebSocket,
  req: IncomingMessage,
  limits: { frameDeadlineMs: number; idleTimeoutMs: number },
  onCut: (limit: TransportLimit) => void,
): void {
  const cut = (limit: TransportLimit) => () => {
    onCut(limit);
    ws.terminate();
  };
  let idle = setTimeout(cut('ws_idle_timeout'), limits.idleTimeoutMs);
  let deadline: NodeJS.Timeout | null = null;
  // ws reads the socket first: a chunk that completed a message has emitted it before this
  // listener runs, so `completed` tells "bytes left over" from "a new message began".
  let completed = false;
  const done = () => {
    completed = true;
    if (deadline) clearTimeout(deadline);
    deadline = null;
  };
  const onData = () => {
    if (completed) completed = false;
    else if (!deadline && limits.frameDeadlineMs > 0) {
      deadline = setTimeout(cut('ws_frame_deadline'), limits.frameDeadlineMs);
    }
  };
  req.socket.on('data', onData);
  ws.on('message', () => {
    done();
    clearTimeout(idle);
    idle = setTimeout(cut('ws_idle_timeout'), limits.idleTimeoutMs);
  });
  // Control frames complete too, but only whole messages keep the socket from going idle.
  ws.on('ping', done);
  ws.on('pong', done);
  ws.once('close', () => {
    req.socket.off('data', onData);
    clearTimeout(idle);
    if (deadline) clearTimeout(deadline);
  });
}
