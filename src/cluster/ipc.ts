// Calls and answers over the IPC channel between the server process and its ingest processes
// (node:cluster workers): each side registers handlers by name and calls the other's. A call
// whose peer goes away is rejected, never left waiting.
import { StoreUnavailableError } from '../storage/batch-writer.js';

type Handler = (payload: never) => Promise<unknown> | unknown;

interface CallMessage {
  ofd: 'call';
  id: number;
  op: string;
  payload: unknown;
}
interface ReplyMessage {
  ofd: 'reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { message: string; notWritten?: boolean; storeUnavailable?: boolean };
}
type Message = CallMessage | ReplyMessage;

const isMessage = (m: unknown): m is Message =>
  typeof m === 'object' &&
  m !== null &&
  ((m as Message).ofd === 'call' || (m as Message).ofd === 'reply');

export class IpcPeer {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private closedReason: string | null = null;

  constructor(
    private readonly send: (message: Message) => void,
    private readonly handlers: Record<string, Handler>,
  ) {}

  call<T>(op: string, payload?: unknown): Promise<T> {
    if (this.closedReason) return Promise.reject(new Error(this.closedReason));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.send({ ofd: 'call', id, op, payload });
      } catch (error) {
        this.pending.delete(id);
        reject(error as Error);
      }
    });
  }

  /** Feed every message the channel delivers; returns false for messages that are not ours. */
  receive(message: unknown): boolean {
    if (!isMessage(message)) return false;
    if (message.ofd === 'reply') {
      const waiter = this.pending.get(message.id);
      if (!waiter) return true;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(revive(message.error!));
      return true;
    }
    void this.answer(message);
    return true;
  }

  /** The peer is gone: every call still waiting fails, and so does every later one. */
  close(reason: string): void {
    this.closedReason = reason;
    const error = new StoreUnavailableError(reason);
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private async answer(call: CallMessage): Promise<void> {
    let reply: ReplyMessage;
    try {
      const handler = this.handlers[call.op];
      if (!handler) throw new Error(`no handler for ${call.op}`);
      const value = await handler(call.payload as never);
      reply = { ofd: 'reply', id: call.id, ok: true, value };
    } catch (error) {
      const e = error as Error;
      reply = {
        ofd: 'reply',
        id: call.id,
        ok: false,
        error: {
          message: e.message,
          storeUnavailable: e instanceof StoreUnavailableError,
          notWritten: e instanceof StoreUnavailableError && e.notWritten,
        },
      };
    }
    try {
      if (!this.closedReason) this.send(reply);
    } catch {
      // the channel closed meanwhile; the caller's side fails its call
    }
  }
}

function revive(error: NonNullable<ReplyMessage['error']>): Error {
  return error.storeUnavailable
    ? new StoreUnavailableError(error.message, { notWritten: error.notWritten })
    : new Error(error.message);
}
