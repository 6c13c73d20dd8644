// The EDS identity proof against a CA made here: a valid signature gives the IIN and BIN of
// the certificate's subject; an expired certificate, another CA's, a key not for signing, a
// tampered challenge and garbage are each refused with their own reason.
import 'reflect-metadata';
import t from 'tap';
import { KeyUsageFlags } from '@peculiar/x509';
import * as pkijs from 'pkijs';
import { EdsError, EdsVerifier, type EdsRefusal } from '../../src/api/identity/eds.js';
import { makeCa, makeSigner, signCms } from '../helpers/eds-ca.js';

const ca = await makeCa();
const stranger = await makeCa('CN=Some other CA');
const verifier = new EdsVerifier({ trusted: [pkijs.Certificate.fromBER(ca.cert.rawData)] });
const challenge = 'b3ZlcnRoZS1jaGFsbGVuZ2UtMTIz';

async function refusal(promise: Promise<unknown>): Promise<EdsRefusal | 'accepted'> {
  try {
    await promise;
    return 'accepted';
  } catch (err) {
    if (err instanceof EdsError) return err.refusal;
    throw err;
  }
}

t.test('a valid signature of an organization key gives IIN and BIN', async (t) => {
  const signer = await makeSigner(ca, { iin: '880101300123', bin: '123456789012' });
  for (const detached of [false, true]) {
    const id = await verifier.verify(await signCms(signer, challenge, detached), challenge);
    t.equal(id.iin, '880101300123', `IIN from SERIALNUMBER (detached: ${detached})`);
    t.equal(id.bin, '123456789012', 'BIN from OU');
    t.equal(id.name, 'ТЕСТОВ ТЕСТ');
  }
});

t.test("a person's key has an IIN and no BIN", async (t) => {
  const signer = await makeSigner(ca, { iin: '900202400456' });
  const id = await verifier.verify(await signCms(signer, challenge), challenge);
  t.equal(id.iin, '900202400456');
  t.equal(id.bin, null);
});

t.test('refusals', async (t) => {
  const expired = await makeSigner(ca, { iin: '880101300123', expired: true });
  t.equal(await refusal(verifier.verify(await signCms(expired, challenge), challenge)), 'expired');

  const foreign = await makeSigner(stranger, { iin: '880101300123' });
  t.equal(
    await refusal(verifier.verify(await signCms(foreign, challenge), challenge)),
    'untrusted',
    'another CA',
  );

  const encipherOnly = await makeSigner(ca, {
    iin: '880101300123',
    usage: KeyUsageFlags.keyEncipherment,
  });
  t.equal(
    await refusal(verifier.verify(await signCms(encipherOnly, challenge), challenge)),
    'key_usage',
  );

  const good = await makeSigner(ca, { iin: '880101300123' });
  t.equal(
    await refusal(verifier.verify(await signCms(good, challenge), `${challenge}x`)),
    'challenge_mismatch',
    'attached content is another challenge',
  );
  t.equal(
    await refusal(verifier.verify(await signCms(good, `${challenge}x`, true), challenge)),
    'bad_signature',
    'detached signature over another challenge',
  );
  t.equal(await refusal(verifier.verify('bm90IGEgc2lnbmF0dXJl', challenge)), 'malformed');

  const revoking = new EdsVerifier({
    trusted: [pkijs.Certificate.fromBER(ca.cert.rawData)],
    revocation: async () => true,
  });
  t.equal(
    await refusal(revoking.verify(await signCms(good, challenge), challenge)),
    'revoked',
    'the revocation adapter is asked',
  );
});
