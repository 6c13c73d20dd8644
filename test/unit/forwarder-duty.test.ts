// The forwarder's rest between batches while a backlog waits: work is the configured share of
// the time, so ingest keeps the cores at its peak.
import t from 'tap';
import { restAfter } from '../../src/forwarding/forwarder.js';

t.test('the rest makes the work its duty share of the time', async (t) => {
  t.equal(restAfter(120, 100), 0, 'at 100% it never rests');
  t.equal(restAfter(120, 50), 120, 'at 50% as long as it worked');
  t.equal(restAfter(120, 25), 360, 'at 25% three times as long');
  t.equal(restAfter(0, 10), 0, 'nothing done, no rest');
  const busy = 80;
  const rest = restAfter(busy, 40);
  t.equal(Math.round((100 * busy) / (busy + rest)), 40, 'the share of time at work is the duty');
});
