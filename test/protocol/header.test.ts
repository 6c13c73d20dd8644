import t from 'tap';
import {
  APP_CODE,
  HEADER_SIZE,
  encodeFrame,
  isSupportedVersion,
  readHeader,
  versionText,
} from '../../src/protocol/header.js';

// A frame written byte by byte from the header table of section 2.2 (little-endian).
const golden = Buffer.from([
  0xa2,
  0x81, // APPCODE 0x81A2
  0xca,
  0x00, // VERSION 202
  0x16,
  0x00,
  0x00,
  0x00, // SIZE 22 = 18 + 4 payload bytes
  0x78,
  0x56,
  0x34,
  0x12, // ID 0x12345678
  0xef,
  0xbe,
  0xad,
  0xde, // TOKEN 0xDEADBEEF
  0x39,
  0x30, // REQNUM 12345
  0x08,
  0x01,
  0x10,
  0x02, // payload
]);

t.test('reads every header field of the golden frame', async (t) => {
  const h = readHeader(golden);
  t.equal(h.appCode, 0x81a2);
  t.equal(h.appCode, APP_CODE);
  t.equal(h.version, 202);
  t.equal(h.size, 22);
  t.equal(h.deviceId, 0x12345678);
  t.equal(h.token, 0xdeadbeef);
  t.equal(h.reqNum, 12345);
});

t.test('encodes the golden frame byte for byte', async (t) => {
  const frame = encodeFrame(
    { version: 202, deviceId: 0x12345678, token: 0xdeadbeef, reqNum: 12345 },
    Buffer.from([0x08, 0x01, 0x10, 0x02]),
  );
  t.same([...frame], [...golden]);
  t.equal(frame.length, HEADER_SIZE + 4);
});

t.test('uses the full unsigned ranges', async (t) => {
  const frame = encodeFrame(
    { version: 203, deviceId: 0xffffffff, token: 0xffffffff, reqNum: 65535 },
    Buffer.alloc(0),
  );
  const h = readHeader(frame);
  t.equal(h.deviceId, 4294967295);
  t.equal(h.token, 4294967295);
  t.equal(h.reqNum, 65535);
  t.equal(h.size, 18);
});

t.test('reads a header at an offset inside a larger buffer', async (t) => {
  const buf = Buffer.concat([Buffer.from([1, 2, 3]), golden]);
  t.equal(readHeader(buf, 3).reqNum, 12345);
});

t.test('accepts versions 2.0.0 to 2.0.3 only', async (t) => {
  for (const v of [200, 201, 202, 203]) t.ok(isSupportedVersion(v), `${v}`);
  for (const v of [0, 125, 199, 204, 300, 65535]) t.notOk(isSupportedVersion(v), `${v}`);
  t.equal(versionText(202), '2.0.2');
  t.equal(versionText(125), '1.2.5');
});
