// protobufjs decodes uint64 to Long objects when the `long` package is present. We want plain
// numbers on the hot path (no allocation per field); values past 2^53 are rejected by the
// validators, so nothing is silently rounded into storage. Imported before the generated code.
import protobuf from 'protobufjs/minimal.js';

protobuf.util.Long = null as never;
protobuf.configure();

/** The largest uint32 of the wire (device ids, shift and document numbers). */
export const MAX_UINT32 = 0xffff_ffff;
