// A certification authority made in the test, as NCA's certificates look: the subject's
// SERIALNUMBER "IIN…", an organization's key with OU "BIN…"; and CMS signatures (SignedData,
// as NCALayer returns them) made with pkijs over WebCrypto keys.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Convert } from 'pvtsutils';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle;
const alg = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const DAY = 86_400_000;
let serial = 1;

export interface TestCa {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
}

export interface Signer {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export async function makeCa(name = 'CN=Test NCA'): Promise<TestCa> {
  const keys = (await subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name,
    notBefore: new Date(Date.now() - 10 * DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign),
    ],
  });
  return { cert, keys, pem: cert.toString('pem') };
}

export async function makeSigner(
  ca: TestCa,
  o: {
    iin: string;
    bin?: string;
    name?: string;
    expired?: boolean;
    usage?: x509.KeyUsageFlags;
  },
): Promise<Signer> {
  const keys = (await subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const subject: x509.JsonName = [
    { CN: [o.name ?? 'ТЕСТОВ ТЕСТ'] },
    { '2.5.4.5': [`IIN${o.iin}`] },
    ...(o.bin ? [{ O: ['ТОО Тест'] }, { OU: [`BIN${o.bin}`] }] : []),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - (o.expired ? 400 : 1) * DAY),
    notAfter: new Date(Date.now() + (o.expired ? -30 : 365) * DAY),
    signingKey: ca.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.KeyUsagesExtension(
        o.usage ?? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
      ),
    ],
  });
  return { cert, keys };
}

/** A base64 CMS SignedData over `content` (UTF-8), attached unless `detached`. */
export async function signCms(signer: Signer, content: string, detached = false): Promise<string> {
  const cert = pkijs.Certificate.fromBER(signer.cert.rawData);
  const data = new Uint8Array(Buffer.from(content, 'utf8')).buffer;
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: '1.2.840.113549.1.7.1',
      ...(detached ? {} : { eContent: new asn1js.OctetString({ valueHex: data }) }),
    }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({
          issuer: cert.issuer,
          serialNumber: cert.serialNumber,
        }),
      }),
    ],
    certificates: [cert],
  });
  await signed.sign(signer.keys.privateKey, 0, 'SHA-256', detached ? data : undefined);
  const info = new pkijs.ContentInfo({
    contentType: '1.2.840.113549.1.7.2',
    content: signed.toSchema(true),
  });
  return Convert.ToBase64(info.toSchema().toBER());
}
