// Holds N idle TCP connections to the KKM port (connected, silent, like registers between
// receipts) from one source address, so a parent can spread more connections than one process
// may open over several. Prints "progress N", then "ready HELD FAILED"; exits when stdin closes.
//
//   node --import tsx bench/fleet/idle-holder.ts HOST PORT COUNT LOCAL_ADDRESS
import net from 'node:net';

const [host = '127.0.0.1', portText = '7777', countText = '1000', localAddress] =
  process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const sockets: net.Socket[] = [];
let failed = 0;
const errors = new Map<string, number>();

function open(): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, localAddress });
    s.setNoDelay(true);
    s.once('connect', () => {
      sockets.push(s);
      resolve();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      const key = e.code ?? e.message;
      errors.set(key, (errors.get(key) ?? 0) + 1);
      if (!s.connecting) return;
      failed++;
      resolve();
    });
    s.on('close', () => {
      const i = sockets.indexOf(s);
      if (i >= 0) sockets.splice(i, 1);
    });
  });
}

const batch = 256;
for (let done = 0; done < count;) {
  const n = Math.min(batch, count - done);
  await Promise.all(Array.from({ length: n }, open));
  done += n;
  if (done % 2048 < batch || done === count) console.log(`progress ${done}`);
}
console.log(`ready ${sockets.length} ${failed} ${JSON.stringify(Object.fromEntries(errors))}`);
process.stdin.resume();
process.stdin.on('end', () => {
  console.log(`closing; ${sockets.length} still open`);
  for (const s of sockets) s.destroy();
  process.exit(0);
});
