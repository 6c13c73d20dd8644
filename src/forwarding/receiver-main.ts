// `npm run kgd-receiver -- --port=9100 [--host=127.0.0.1] [--out=received.jsonl]`: the
// reference receiver on its own (see receiver.ts). Point a server at it with
// OFD_FORWARD_URL=http://127.0.0.1:9100/documents; GET /stats shows what it holds.
import { ReferenceReceiver } from './receiver.js';

const arg = (name: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const receiver = new ReferenceReceiver({
  port: Number(arg('port') ?? 9100),
  host: arg('host') ?? '127.0.0.1',
  outFile: arg('out'),
});
await receiver.start();
console.log(`reference KGD receiver: POST batches to ${receiver.url}; GET /stats; POST /control`);
const stop = () => void receiver.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
