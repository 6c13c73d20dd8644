// Cabinet KKM applications without a transport that sends to the tax authority (only `none`,
// the default): an application completes at once, its registry event is recorded when it is
// applied, and `none` confirms it, so the KKM list says registered with the authority.
import t from 'tap';
import { address, registerLegalEntity, startSelfServiceServer } from '../helpers/self-service.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const plain = await startSelfServiceServer({
  OFD_FORWARD_LINGER_MS: '50',
  OFD_FORWARD_POLL_MS: '50',
});
t.teardown(() => plain.stop());

t.test(
  'without a transport that sends to the authority, applications complete at once',
  async (t) => {
    t.same(plain.server.config.forwarding.transports, ['none']);
    const org = await registerLegalEntity(plain);
    const token = org.token;
    const point = (
      await plain.client.call('POST', '/api/v1/points', {
        token,
        body: { title: 'A', address: address() },
      })
    ).json.id as number;
    const created = await plain.client.call('POST', '/api/v1/kkms', {
      token,
      body: { pointId: point, serialNumber: 'NOW-1', model: 'Test KKM', name: 'Касса', year: 2025 },
    });
    t.equal(created.json.status, 'registered', 'registered at once');
    const kkmId = created.json.id as number;
    const events = await plain.server.registry.kkmEvents.list(kkmId);
    t.same(
      events.map((e) => e.kind),
      ['registered'],
      'its registry event is recorded when it is applied',
    );
    const kgd = async () =>
      ((await plain.client.call('GET', '/api/v1/kkms', { token })).json.items as any[]).find(
        (k) => k.id === kkmId,
      )?.kgdStatus?.status;
    for (let i = 0; i < 200 && (await kgd()) !== 'registered'; i++) await sleep(50);
    t.equal(await kgd(), 'registered', 'none confirmed it: the KKM list says so');
    const issued = await plain.client.call('POST', `/api/v1/kkms/${kkmId}/token`, { token });
    t.equal(issued.status, 200, 'the token is issued at once');
    const moved = await plain.client.call('POST', `/api/v1/kkms/${kkmId}/deregistration`, {
      token,
      body: { reason: 'closing' },
    });
    t.equal(moved.json.status, 'deregistered', 'deregistered at once');
    t.same(
      (await plain.server.registry.kkmEvents.list(kkmId)).map((e) => e.kind),
      ['registered', 'token_reissued', 'deregistered'],
      'one event per change',
    );
  },
);
