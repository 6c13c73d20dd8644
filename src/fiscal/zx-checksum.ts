// The checksum of a server-built X/Z report (section 3.8: required since 1.2.5). The document
// does not fix an algorithm; ours is the SHA-256 (hex, upper case) of the report's protobuf
// encoding without the checksum, so anyone holding the report can verify it.
import { createHash } from 'node:crypto';
import { proto, type IZXReport } from '../protocol/schema.js';

export function reportChecksum(report: IZXReport): string {
  const { checksum: _ignored, ...body } = report;
  void _ignored;
  const bytes = proto.ZXReport.encode(body).finish();
  return createHash('sha256').update(bytes).digest('hex').toUpperCase();
}
