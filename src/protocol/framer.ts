// Splits a TCP byte stream into protocol frames. Frames may arrive split across any chunk
// boundaries or many to a chunk. A bad header (wrong APPCODE, SIZE out of bounds) makes the
// stream unusable: the framer reports one typed error and drops everything after it.
// Buffered bytes never exceed one frame of at most `maxFrameSize`.
import { APP_CODE, HEADER_SIZE, readHeader, type FrameHeader } from './header.js';

export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;

export interface Frame {
  header: FrameHeader;
  /** The whole frame, header included (kept verbatim for audit). */
  bytes: Buffer;
  /** The protobuf payload after the header. */
  payload: Buffer;
}

export type FrameErrorCode = 'BAD_APPCODE' | 'SIZE_TOO_SMALL' | 'SIZE_TOO_LARGE';

export class FrameError extends Error {
  constructor(
    readonly code: FrameErrorCode,
    message: string,
    /** Header fields that could be read, so the answer can still be addressed. */
    readonly header: FrameHeader,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Checks a header read from the first 18 bytes; returns an error, or null when it is valid. */
export function checkHeader(header: FrameHeader, maxFrameSize: number): FrameError | null {
  if (header.appCode !== APP_CODE) {
    return new FrameError(
      'BAD_APPCODE',
      `APPCODE 0x${header.appCode.toString(16)} is not 0x81a2`,
      header,
    );
  }
  if (header.size < HEADER_SIZE) {
    return new FrameError('SIZE_TOO_SMALL', `SIZE ${header.size} is below the header size`, header);
  }
  if (header.size > maxFrameSize) {
    return new FrameError(
      'SIZE_TOO_LARGE',
      `SIZE ${header.size} exceeds the limit of ${maxFrameSize}`,
      header,
    );
  }
  return null;
}

/** Parses one whole frame held in a buffer (HTTP and WebSocket transports). */
export function parseFrame(buf: Buffer, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): Frame | FrameError {
  if (buf.length < HEADER_SIZE) {
    const header = { appCode: 0, version: 0, size: buf.length, deviceId: 0, token: 0, reqNum: 0 };
    return new FrameError('SIZE_TOO_SMALL', `${buf.length} bytes cannot hold a header`, header);
  }
  const header = readHeader(buf);
  const error = checkHeader(header, maxFrameSize);
  if (error) return error;
  if (header.size !== buf.length) {
    return new FrameError(
      header.size > buf.length ? 'SIZE_TOO_LARGE' : 'SIZE_TOO_SMALL',
      `SIZE ${header.size} does not match the ${buf.length} bytes received`,
      header,
    );
  }
  return { header, bytes: buf, payload: buf.subarray(HEADER_SIZE) };
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pendingHeader: FrameHeader | null = null;
  private failed = false;

  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** Bytes held while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  get hasFailed(): boolean {
    return this.failed;
  }

  /**
   * Feeds a chunk; calls `onFrame` for each complete frame and `onError` at most once, after
   * which all further input is ignored. Never throws.
   */
  push(chunk: Buffer, onFrame: (frame: Frame) => void, onError: (error: FrameError) => void): void {
    if (this.failed || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;

    while (!this.failed) {
      if (this.pendingHeader === null) {
        if (this.buffered < HEADER_SIZE) return;
        const header = readHeader(this.peek(HEADER_SIZE));
        const error = checkHeader(header, this.maxFrameSize);
        if (error) {
          this.fail();
          onError(error);
          return;
        }
        this.pendingHeader = header;
      }
      const size = this.pendingHeader.size;
      if (this.buffered < size) return;
      const bytes = this.take(size);
      const header = this.pendingHeader;
      this.pendingHeader = null;
      onFrame({ header, bytes, payload: bytes.subarray(HEADER_SIZE) });
    }
  }

  private fail(): void {
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    this.pendingHeader = null;
  }

  /** The first `n` buffered bytes, copying only when they span chunks. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    return Buffer.concat(this.chunks, this.buffered).subarray(0, n);
  }

  /** Removes and returns the first `n` buffered bytes; zero-copy when one chunk holds them. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}
