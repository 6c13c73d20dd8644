import t from 'tap';
import { randomBytes } from 'node:crypto';
import { FrameDecoder, FrameError, parseFrame, type Frame } from '../../src/protocol/framer.js';
import { encodeFrame, writeHeader } from '../../src/protocol/header.js';

function frameOf(reqNum: number, payloadSize: number): Buffer {
  const payload = Buffer.alloc(payloadSize, reqNum & 0xff);
  return encodeFrame({ version: 202, deviceId: 7, token: 99, reqNum }, payload);
}

function collect(decoder: FrameDecoder, chunks: Buffer[]) {
  const frames: Frame[] = [];
  const errors: FrameError[] = [];
  for (const c of chunks)
    decoder.push(
      c,
      (f) => frames.push(f),
      (e) => errors.push(e),
    );
  return { frames, errors };
}

const stream = Buffer.concat([frameOf(1, 0), frameOf(2, 5), frameOf(3, 300), frameOf(4, 1)]);

t.test('many frames in one chunk', async (t) => {
  const { frames, errors } = collect(new FrameDecoder(), [stream]);
  t.same(errors, []);
  t.same(
    frames.map((f) => [f.header.reqNum, f.payload.length]),
    [
      [1, 0],
      [2, 5],
      [3, 300],
      [4, 1],
    ],
  );
  t.ok(frames.every((f) => f.bytes.length === f.header.size));
});

t.test('every split point into two chunks yields the same frames', async (t) => {
  const whole = collect(new FrameDecoder(), [stream]).frames.map((f) => f.bytes.toString('hex'));
  for (let i = 0; i <= stream.length; i++) {
    const { frames, errors } = collect(new FrameDecoder(), [
      stream.subarray(0, i),
      stream.subarray(i),
    ]);
    if (errors.length || frames.length !== 4) t.fail(`split at ${i}`);
    const got = frames.map((f) => f.bytes.toString('hex'));
    if (got.join() !== whole.join()) t.fail(`split at ${i} changed the frames`);
  }
  t.pass('all split points agree');
});

t.test('byte-at-a-time and random chunking yield the same frames', async (t) => {
  const bytes = [...stream].map((b) => Buffer.from([b]));
  const one = collect(new FrameDecoder(), bytes);
  t.equal(one.frames.length, 4);
  for (let round = 0; round < 200; round++) {
    const chunks: Buffer[] = [];
    let i = 0;
    while (i < stream.length) {
      const n = 1 + Math.floor(Math.random() * 40);
      chunks.push(stream.subarray(i, i + n));
      i += n;
    }
    const { frames } = collect(new FrameDecoder(), chunks);
    if (frames.map((f) => f.header.reqNum).join() !== '1,2,3,4') t.fail(`round ${round}`);
  }
  t.pass('random chunkings agree');
});

t.test('wrong APPCODE is a typed error and stops the stream', async (t) => {
  const bad = frameOf(1, 2);
  bad.writeUInt16LE(0x1234, 0);
  const { frames, errors } = collect(new FrameDecoder(), [bad, frameOf(2, 2)]);
  t.equal(frames.length, 0);
  t.equal(errors.length, 1);
  t.equal(errors[0]!.code, 'BAD_APPCODE');
  t.equal(errors[0]!.header.deviceId, 7, 'header fields are still reported');
});

t.test('SIZE below the header size', async (t) => {
  const bad = frameOf(1, 2);
  bad.writeUInt32LE(17, 4);
  const { errors } = collect(new FrameDecoder(), [bad]);
  t.equal(errors[0]?.code, 'SIZE_TOO_SMALL');
});

t.test('SIZE above the configured maximum, before the body arrives', async (t) => {
  const header = Buffer.alloc(18);
  writeHeader(header, {
    appCode: 0x81a2,
    version: 202,
    size: 2048,
    deviceId: 1,
    token: 1,
    reqNum: 1,
  });
  const decoder = new FrameDecoder(1024);
  const { errors } = collect(decoder, [header]);
  t.equal(errors[0]?.code, 'SIZE_TOO_LARGE');
  t.equal(decoder.bufferedBytes, 0, 'nothing is kept after a fatal error');
  t.ok(decoder.hasFailed);
});

t.test('default maximum is 1 MiB', async (t) => {
  const ok = frameOf(1, 1024 * 1024 - 18);
  t.equal(collect(new FrameDecoder(), [ok]).frames.length, 1);
  const tooBig = frameOf(1, 1024 * 1024 - 17);
  t.equal(collect(new FrameDecoder(), [tooBig]).errors[0]?.code, 'SIZE_TOO_LARGE');
});

t.test('a partial frame is buffered up to its size only', async (t) => {
  const decoder = new FrameDecoder();
  const f = frameOf(1, 1000);
  collect(decoder, [f.subarray(0, 500)]);
  t.equal(decoder.bufferedBytes, 500);
  collect(decoder, [f.subarray(500)]);
  t.equal(decoder.bufferedBytes, 0);
});

t.test('parseFrame checks a whole-frame body', async (t) => {
  const f = frameOf(5, 3);
  const ok = parseFrame(f);
  t.notOk(ok instanceof FrameError);
  if (!(ok instanceof FrameError)) t.equal(ok.header.reqNum, 5);
  const short = parseFrame(f.subarray(0, 10));
  t.ok(short instanceof FrameError && short.code === 'SIZE_TOO_SMALL');
  const truncated = parseFrame(f.subarray(0, f.length - 1));
  t.ok(truncated instanceof FrameError && truncated.code === 'SIZE_TOO_LARGE');
  const trailing = parseFrame(Buffer.concat([f, Buffer.from([0])]));
  t.ok(trailing instanceof FrameError && trailing.code === 'SIZE_TOO_SMALL');
});

t.test('10,000 random and mutated streams: only typed errors, flat memory', async (t) => {
  const valid = Buffer.concat([frameOf(1, 10), frameOf(2, 40)]);
  const before = process.memoryUsage().heapUsed;
  let framesSeen = 0;
  let errorsSeen = 0;
  for (let i = 0; i < 10_000; i++) {
    let input: Buffer;
    if (i % 2 === 0) {
      input = randomBytes(1 + (i % 300));
    } else {
      input = Buffer.from(valid);
      const flips = 1 + (i % 5);
      for (let k = 0; k < flips; k++) {
        const pos = Math.floor(Math.random() * input.length);
        input[pos] = Math.floor(Math.random() * 256);
      }
    }
    const decoder = new FrameDecoder(4096);
    try {
      decoder.push(
        input,
        () => framesSeen++,
        (e) => {
          if (!(e instanceof FrameError)) throw new Error('untyped error');
          errorsSeen++;
        },
      );
    } catch (e) {
      t.fail(`push threw on input ${i}: ${(e as Error).message}`);
      return;
    }
    if (decoder.bufferedBytes > 4096) t.fail('buffer exceeded the maximum frame size');
  }
  global.gc?.();
  const grown = process.memoryUsage().heapUsed - before;
  t.ok(framesSeen + errorsSeen > 0, 'inputs were classified');
  t.ok(grown < 32 * 1024 * 1024, `heap grew by ${Math.round(grown / 1024)} KiB`);
});
