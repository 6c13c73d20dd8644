// Calls between the server process and an ingest process (pure: two peers wired back to back,
// with structured clone standing in for the IPC channel).
import t from 'tap';
import { IpcPeer } from '../../src/cluster/ipc.js';
import { StoreUnavailableError } from '../../src/storage/batch-writer.js';

function pair(handlers: ConstructorParameters<typeof IpcPeer>[1]) {
  const peers: { client?: IpcPeer; server?: IpcPeer } = {};
  const client = new IpcPeer(
    (m) => queueMicrotask(() => peers.server!.receive(structuredClone(m))),
    {},
  );
  peers.server = new IpcPeer(
    (m) => queueMicrotask(() => client.receive(structuredClone(m))),
    handlers,
  );
  return { client };
}

t.test('a call gets its handler answer', async (t) => {
  const { client } = pair({ add: (p: { a: number; b: number }) => p.a + p.b });
  t.equal(await client.call('add', { a: 2, b: 3 }), 5);
  t.same(await Promise.all([1, 2, 3].map((a) => client.call('add', { a, b: a }))), [2, 4, 6]);
});

t.test('a store refusal keeps its kind and whether anything was written', async (t) => {
  const { client } = pair({
    full: () => {
      throw new StoreUnavailableError('queue full', { notWritten: true });
    },
    lost: () => {
      throw new StoreUnavailableError('commit took too long');
    },
    bug: () => {
      throw new TypeError('boom');
    },
  });
  const full = await client.call('full').catch((e: unknown) => e);
  t.ok(full instanceof StoreUnavailableError && full.notWritten, 'not written: state stands');
  const lost = await client.call('lost').catch((e: unknown) => e);
  t.ok(lost instanceof StoreUnavailableError && !lost.notWritten, 'maybe written: rebuild');
  const bug = await client.call('bug').catch((e: unknown) => e);
  t.notOk(bug instanceof StoreUnavailableError, 'other errors stay plain');
  t.match(bug, { message: 'boom' });
  await t.rejects(client.call('nope'), /no handler for nope/);
});

t.test('calls waiting when the peer goes away fail, and so do later ones', async (t) => {
  const { client } = pair({ hang: () => new Promise(() => {}) });
  const waiting = client.call('hang');
  await new Promise((r) => setTimeout(r, 5));
  client.close('ingest process 0 exited');
  await t.rejects(waiting, { name: 'StoreUnavailableError', message: 'ingest process 0 exited' });
  await t.rejects(client.call('hang'), /exited/);
});

t.test('messages that are not ours are left for others', async (t) => {
  const { client } = pair({});
  t.equal(client.receive({ cmd: 'NODE_CLUSTER' }), false);
  t.equal(client.receive('hello'), false);
  t.equal(client.receive({ ofd: 'reply', id: 999, ok: true }), true, 'an unknown reply is ours');
});
