// The 18-byte frame header of protocol 2.0.x (section 2.2), little-endian:
// APPCODE u16 | VERSION u16 | SIZE u32 (whole frame) | ID u32 | TOKEN u32 | REQNUM u16.

export const HEADER_SIZE = 18;
export const APP_CODE = 0x81a2;
export const MIN_VERSION = 200;
export const MAX_VERSION = 203;
/** The version we answer with when a request's own version cannot be echoed. */
export const CURRENT_VERSION = 202;

export interface FrameHeader {
  appCode: number;
  version: number;
  size: number;
  deviceId: number;
  token: number;
  reqNum: number;
}

export function readHeader(buf: Uint8Array, offset = 0): FrameHeader {
  const view = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    appCode: view.readUInt16LE(offset),
    version: view.readUInt16LE(offset + 2),
    size: view.readUInt32LE(offset + 4),
    deviceId: view.readUInt32LE(offset + 8),
    token: view.readUInt32LE(offset + 12),
    reqNum: view.readUInt16LE(offset + 16),
  };
}

export function writeHeader(buf: Buffer, h: FrameHeader, offset = 0): void {
  buf.writeUInt16LE(h.appCode, offset);
  buf.writeUInt16LE(h.version, offset + 2);
  buf.writeUInt32LE(h.size, offset + 4);
  buf.writeUInt32LE(h.deviceId >>> 0, offset + 8);
  buf.writeUInt32LE(h.token >>> 0, offset + 12);
  buf.writeUInt16LE(h.reqNum & 0xffff, offset + 16);
}

/** Builds a whole frame: header (with SIZE computed) followed by the protobuf payload. */
export function encodeFrame(
  h: Pick<FrameHeader, 'version' | 'deviceId' | 'token' | 'reqNum'>,
  payload: Uint8Array,
): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  writeHeader(frame, { appCode: APP_CODE, size: frame.length, ...h });
  frame.set(payload, HEADER_SIZE);
  return frame;
}

export function isSupportedVersion(version: number): boolean {
  return version >= MIN_VERSION && version <= MAX_VERSION;
}

/** "2.0.2" for 202: the document numbers versions X.Y.Z as the decimal digits. */
export function versionText(version: number): string {
  return `${Math.floor(version / 100)}.${Math.floor(version / 10) % 10}.${version % 10}`;
}
