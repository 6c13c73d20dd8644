// The machine's own ceiling for the fleet's two traffic shapes, with no OFD in the way: a
// trivial TCP server in a child process answers every request with a fixed answer, while this
// process plays the registers. Persistent: N connections, each sending its next request
// (the size of a mid-sized receipt frame) as soon as it has its answer. Per request: C
// registers at a time, each connecting, sending one request, reading the answer and closing.
// What these reach is what any server could reach here with the simulator on the same
// machine; bench/run-all.ts reports the OFD's figures against them.
//
//   npx tsx bench/loopback.ts [--seconds=5] [--connections=1000] [--concurrency=256]
import { fork } from 'node:child_process';
import net from 'node:net';

const REQUEST_BYTES = 600;
const ANSWER_BYTES = 180;

export interface LoopbackResult {
  persistentPerSec: number;
  perRequestPerSec: number;
  connections: number;
  concurrency: number;
}

if (process.argv[2] === '--serve') {
  // The trivial server: counts bytes, answers each whole request.
  const answer = Buffer.alloc(ANSWER_BYTES, 1);
  const server = net.createServer({ noDelay: true }, (socket) => {
    let pending = 0;
    socket.on('data', (chunk) => {
      pending += chunk.length;
      while (pending >= REQUEST_BYTES) {
        pending -= REQUEST_BYTES;
        socket.write(answer);
      }
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => {
    process.send!((server.address() as net.AddressInfo).port);
  });
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) =>
    Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  const r = await loopbackCeiling(
    arg('seconds', 5),
    arg('connections', 1000),
    arg('concurrency', 256),
  );
  console.log(
    `persistent, ${r.connections} connections: ${Math.round(r.persistentPerSec)} exchanges/s; ` +
      `a connection per request, ${r.concurrency} at a time: ${Math.round(r.perRequestPerSec)}/s`,
  );
}

export async function loopbackCeiling(
  seconds: number,
  connections: number,
  concurrency: number,
): Promise<LoopbackResult> {
  const child = fork(new URL(import.meta.url).pathname, ['--serve'], {
    execArgv: ['--import', 'tsx'],
  });
  try {
    const port = await new Promise<number>((resolve) =>
      child.once('message', (p) => resolve(p as number)),
    );
    const request = Buffer.alloc(REQUEST_BYTES, 2);

    // Persistent connections, closed loop.
    const sockets = await Promise.all(
      Array.from(
        { length: connections },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
            s.once('connect', () => resolve(s));
            s.once('error', reject);
          }),
      ),
    );
    let exchanges = 0;
    let running = true;
    const started = performance.now();
    for (const s of sockets) {
      let got = 0;
      s.on('data', (chunk) => {
        got += chunk.length;
        while (got >= ANSWER_BYTES) {
          got -= ANSWER_BYTES;
          exchanges++;
          if (running) s.write(request);
        }
      });
      s.write(request);
    }
    await new Promise((r) => setTimeout(r, seconds * 1000));
    running = false;
    const persistentPerSec = exchanges / ((performance.now() - started) / 1000);
    for (const s of sockets) s.destroy();

    // A connection per request.
    let done = 0;
    const until = performance.now() + seconds * 1000;
    const once = () =>
      new Promise<void>((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
        let got = 0;
        s.once('connect', () => s.write(request));
        s.on('data', (chunk) => {
          got += chunk.length;
          if (got >= ANSWER_BYTES) {
            done++;
            s.destroy();
            resolve();
          }
        });
        s.once('error', () => resolve());
      });
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) await once();
      }),
    );
    const perRequestPerSec = done / ((performance.now() - t0) / 1000);
    return { persistentPerSec, perRequestPerSec, connections, concurrency };
  } finally {
    child.kill();
  }
}
