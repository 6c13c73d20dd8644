// Loads one protocol revision's messages by reflection from the descriptor scripts/gen-proto.sh
// compiles (generated/kkm.json for 2.0.2, generated/kkm203.json for 2.0.3). Reflection decodes
// 1.15-1.5x faster than protobufjs static code here (bench/protocol.ts).
import './numbers.js';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs/light.js';

export interface Revision {
  /** "2.0.2" or "2.0.3". */
  name: string;
  root: protobuf.Root;
  Request: protobuf.Type;
  Response: protobuf.Type;
  /**
   * The same messages with every field optional: they decode what a strict decode refuses (to
   * answer it with the right command and code) and encode what a device should never send.
   */
  lenient: { Request: protobuf.Type; Response: protobuf.Type };
}

export function loadRevision(name: string, file: string): Revision {
  const descriptor = (): protobuf.INamespace =>
    JSON.parse(readFileSync(new URL(`./generated/${file}`, import.meta.url), 'utf8'));
  const root = protobuf.Root.fromJSON(descriptor());
  const relaxed: unknown = descriptor();
  const relax = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.rule === 'required') delete record.rule;
    for (const value of Object.values(record)) relax(value);
  };
  relax(relaxed);
  const relaxedRoot = protobuf.Root.fromJSON(relaxed as protobuf.INamespace);
  return {
    name,
    root,
    Request: root.lookupType('kkm.proto.Request'),
    Response: root.lookupType('kkm.proto.Response'),
    lenient: {
      Request: relaxedRoot.lookupType('kkm.proto.Request'),
      Response: relaxedRoot.lookupType('kkm.proto.Response'),
    },
  };
}
