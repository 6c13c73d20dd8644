// The device side of the protocol: a cash register that numbers its requests, keeps the
// newest token and resends a request unchanged (same TOKEN and REQNUM) when an answer is lost.
// Talks TCP (a persistent connection or one per request) or HTTP.
import net from 'node:net';
import { FrameDecoder } from '../protocol/framer.js';
import { encodeFrame, readHeader, type FrameHeader } from '../protocol/header.js';
import type { IRequest, Response } from '../protocol/schema.js';
import { schemaFor } from '../protocol/versions.js';

export interface Answer {
  header: FrameHeader;
  response: Response;
  bytes: Buffer;
}

export type Transport = (frame: Buffer) => Promise<Buffer>;

/** One TCP connection carrying requests one after another. */
export class TcpLink {
  private socket: net.Socket | null = null;
  private decoder = new FrameDecoder();
  private waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;

  constructor(
    private readonly port: number,
    private readonly host = '127.0.0.1',
    private readonly timeoutMs = 10_000,
  ) {}

  private async connect(): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    this.decoder = new FrameDecoder();
    const socket = net.connect({ port: this.port, host: this.host, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('data', (chunk) => {
      if (this.socket !== socket) return;
      this.decoder.push(
        chunk,
        (frame) => {
          const w = this.waiting;
          this.waiting = null;
          w?.resolve(frame.bytes);
        },
        (error) => this.fail(error),
      );
    });
    // A connection closed by `close()` may still report data or its end after the next one was
    // opened: only the current connection answers.
    socket.on('error', (e) => this.socket === socket && this.fail(e));
    socket.on('close', () => this.socket === socket && this.fail(new Error('connection closed')));
    this.socket = socket;
    return socket;
  }

  private fail(error: Error): void {
    const w = this.waiting;
    this.waiting = null;
    this.socket?.destroy();
    this.socket = null;
    w?.reject(error);
  }

  send: Transport = async (frame) => {
    const socket = await this.connect();
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error('answer timed out')), this.timeoutMs);
      this.waiting = {
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      socket.write(frame);
    });
  };

  close(): void {
    this.socket?.end();
    this.socket = null;
  }
}

/** A new TCP connection for every request, as SIM-modem registers do. */
export function tcpPerRequest(port: number, host = '127.0.0.1'): Transport {
  return async (frame) => {
    const link = new TcpLink(port, host);
    try {
      return await link.send(frame);
    } finally {
      link.close();
    }
  };
}

export function httpTransport(baseUrl: string): Transport {
  return async (frame) => {
    const res = await fetch(`${baseUrl}/kkm`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(frame),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    return Buffer.from(await res.arrayBuffer());
  };
}

export class KkmDevice {
  reqNum = 0;
  /** The last frame sent, for resending it unchanged. */
  lastFrame: Buffer | null = null;

  constructor(
    readonly id: number,
    public token: number,
    public transport: Transport,
    readonly version = 202,
  ) {}

  /** Builds the next request frame (REQNUM + 1, current token) without sending it. */
  frame(request: IRequest): Buffer {
    return this.framePayload(schemaFor(this.version).Request.encode(request).finish());
  }

  /** The next request frame around an encoded payload (REQNUM + 1, current token). */
  framePayload(payload: Uint8Array): Buffer {
    this.reqNum = (this.reqNum + 1) & 0xffff;
    this.lastFrame = encodeFrame(
      { version: this.version, deviceId: this.id, token: this.token, reqNum: this.reqNum },
      payload,
    );
    return this.lastFrame;
  }

  /** Takes the token of an answer addressed to this device, as every answer brings the next. */
  adopt(answer: Answer): void {
    if (answer.header.deviceId === this.id) this.token = answer.header.token;
  }

  /** Sends a new request and adopts the token of its answer. */
  async send(request: IRequest): Promise<Answer> {
    return this.deliver(this.frame(request));
  }

  /** Resends the last frame unchanged, as after a lost answer. */
  async resend(): Promise<Answer> {
    if (!this.lastFrame) throw new Error('nothing to resend');
    return this.deliver(this.lastFrame);
  }

  private async deliver(frame: Buffer): Promise<Answer> {
    const answer = decodeAnswer(await this.transport(frame));
    this.adopt(answer);
    return answer;
  }
}

/** An answer frame, read with the schema of its header's VERSION. */
export function decodeAnswer(bytes: Buffer): Answer {
  const header = readHeader(bytes);
  const response = schemaFor(header.version).Response.decode(
    bytes.subarray(18),
  ) as unknown as Response;
  return { header, response, bytes };
}
