// Identity proof by EDS (ЭЦП): the client signs a challenge the server issued with NCALayer,
// which gives a CMS/PKCS#7 SignedData; the server verifies the signature, the signer's
// certificate chain up to a configured CA (OFD_EDS_CA_FILE), its validity period and its key
// usage, and reads the IIN and BIN from the subject as Kazakhstan's certificates carry them:
// SERIALNUMBER "IIN<12 digits>", and for an organization's key OU "BIN<12 digits>".
// Revocation (OCSP/CRL) is an adapter, off unless one is configured. Parsing and verification
// are pkijs's (ASN.1 by asn1js); the algorithms are WebCrypto's (RSA and ECDSA; the national
// GOST 34.310 keys need a crypto engine that has them).
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Convert } from 'pvtsutils';

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });
pkijs.setEngine('node', engine);

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  keyUsage: '2.5.29.15',
  serialNumber: '2.5.4.5',
  organizationalUnit: '2.5.4.11',
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
} as const;

/** Who signed: the person's IIN, and the organization's BIN for an organization's key. */
export interface EdsIdentity {
  iin: string;
  bin: string | null;
  /** The subject's common name and organization, as the certificate has them. */
  name: string;
  organization: string;
  /** The signer certificate's serial number (hex), for the log. */
  certificateSerial: string;
}

/** Why a signature is refused, one code per case. */
export type EdsRefusal =
  | 'malformed'
  | 'challenge_mismatch'
  | 'bad_signature'
  | 'untrusted'
  | 'expired'
  | 'key_usage'
  | 'revoked'
  | 'no_identity';

export class EdsError extends Error {
  constructor(
    readonly refusal: EdsRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** Tells whether a certificate is revoked; `issuer` signed it. */
export type RevocationCheck = (
  certificate: pkijs.Certificate,
  issuer: pkijs.Certificate | null,
) => Promise<boolean>;

/** PEM blocks or one DER structure, as DER buffers. */
function derBlocks(data: Buffer, label: string): ArrayBuffer[] {
  const text = data.toString('latin1');
  const re = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`, 'g');
  const blocks = [...text.matchAll(re)].map((m) => Convert.FromBase64(m[1]!.replace(/\s+/g, '')));
  return blocks.length ? blocks : [new Uint8Array(data).slice().buffer];
}

/** The CA certificates of a PEM (or DER) file. */
export function loadCertificates(path: string): pkijs.Certificate[] {
  return derBlocks(readFileSync(path), 'CERTIFICATE').map((der) => pkijs.Certificate.fromBER(der));
}

/** A revocation check against a CRL file (PEM or DER), read once. */
export function crlFileCheck(path: string): RevocationCheck {
  const crls = derBlocks(readFileSync(path), 'X509 CRL').map((der) =>
    pkijs.CertificateRevocationList.fromBER(der),
  );
  return async (certificate) => crls.some((crl) => crl.isCertificateRevoked(certificate));
}

function subjectValue(cert: pkijs.Certificate, oid: string): string[] {
  return cert.subject.typesAndValues
    .filter((tv) => tv.type === oid)
    .map((tv) => String((tv.value as { valueBlock: { value: unknown } }).valueBlock.value));
}

/** KeyUsage bits 0 (digitalSignature) or 1 (nonRepudiation): a key that may sign. */
function maySign(cert: pkijs.Certificate): boolean {
  const ext = cert.extensions?.find((e) => e.extnID === OID.keyUsage);
  if (!ext) return false;
  const bits = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView);
  const view = (bits.result as asn1js.BitString).valueBlock.valueHexView;
  const first = view[0] ?? 0;
  return (first & 0x80) !== 0 || (first & 0x40) !== 0;
}

export interface EdsVerifierOptions {
  /** The CA certificates a signer's chain must end at. */
  trusted: pkijs.Certificate[];
  revocation?: RevocationCheck;
  now?: () => Date;
}

export class EdsVerifier {
  constructor(private readonly o: EdsVerifierOptions) {}

  /**
   * Verifies a base64 CMS SignedData over `challenge` (attached, or detached and then signed
   * as the challenge's UTF-8 bytes) and returns who signed it; EdsError says why not.
   */
  async verify(signatureBase64: string, challenge: string): Promise<EdsIdentity> {
    const now = this.o.now?.() ?? new Date();
    let signed: pkijs.SignedData;
    try {
      const info = pkijs.ContentInfo.fromBER(Convert.FromBase64(signatureBase64));
      if (info.contentType !== OID.signedData) throw new Error('not SignedData');
      signed = new pkijs.SignedData({ schema: info.content });
    } catch {
      throw new EdsError('malformed', 'the signature is not a CMS SignedData structure');
    }
    const expected = Buffer.from(challenge, 'utf8');
    const attached = signed.encapContentInfo.eContent;
    if (attached && !Buffer.from(attached.getValue()).equals(expected)) {
      throw new EdsError('challenge_mismatch', 'the signed content is not the challenge');
    }
    const certificates = (signed.certificates ?? []).filter(
      (c): c is pkijs.Certificate => c instanceof pkijs.Certificate,
    );
    const signerInfo = signed.signerInfos[0];
    const signer = certificates.find((c) => {
      const sid = signerInfo?.sid;
      return sid instanceof pkijs.IssuerAndSerialNumber
        ? c.serialNumber.isEqual(sid.serialNumber) && c.issuer.isEqual(sid.issuer)
        : false;
    });
    if (!signerInfo || !signer) {
      throw new EdsError('malformed', 'the signature carries no signer certificate');
    }
    if (now < signer.notBefore.value || now > signer.notAfter.value) {
      throw new EdsError('expired', 'the signing certificate is not valid now');
    }
    let signatureOk = false;
    try {
      signatureOk = await signed.verify({
        signer: 0,
        data: attached ? undefined : new Uint8Array(expected).buffer,
        checkChain: false,
      });
    } catch {
      signatureOk = false;
    }
    if (!signatureOk) throw new EdsError('bad_signature', 'the signature does not verify');
    const issuer = await this.chain(signer, certificates, now);
    if (!maySign(signer)) {
      throw new EdsError('key_usage', 'the certificate is not a signing key (key usage)');
    }
    if (this.o.revocation && (await this.o.revocation(signer, issuer))) {
      throw new EdsError('revoked', 'the signing certificate is revoked');
    }
    const iin = subjectValue(signer, OID.serialNumber)
      .map((v) => /^IIN(\d{12})$/.exec(v)?.[1])
      .find(Boolean);
    const bin = subjectValue(signer, OID.organizationalUnit)
      .map((v) => /^BIN(\d{12})$/.exec(v)?.[1])
      .find(Boolean);
    if (!iin) throw new EdsError('no_identity', 'the certificate carries no IIN');
    return {
      iin,
      bin: bin ?? null,
      name: subjectValue(signer, OID.commonName)[0] ?? '',
      organization: subjectValue(signer, OID.organization)[0] ?? '',
      certificateSerial: Buffer.from(signer.serialNumber.valueBlock.valueHexView).toString('hex'),
    };
  }

  /** The chain from the signer to a trusted CA, at `now`; the signer's issuer. */
  private async chain(
    signer: pkijs.Certificate,
    intermediates: pkijs.Certificate[],
    now: Date,
  ): Promise<pkijs.Certificate | null> {
    const validation = new pkijs.CertificateChainValidationEngine({
      trustedCerts: this.o.trusted,
      certs: [signer, ...intermediates.filter((c) => c !== signer)],
      checkDate: now,
    });
    const result = await validation.verify().catch(() => null);
    if (!result?.result) {
      throw new EdsError('untrusted', 'the certificate does not chain to a trusted CA');
    }
    const path = result.certificatePath ?? [];
    return path.find((c) => signer.issuer.isEqual(c.subject)) ?? null;
  }
}
