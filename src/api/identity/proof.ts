// Proving who one is without a password (cabinet manual §1.1–1.2, §2): an EDS signature of a
// challenge the server issued, or a one-time code sent by SMS. Both give the person's IIN; an
// organization's EDS key also gives its BIN. Each proof is used up by its check.
import { Type, type Static } from 'typebox';
import type { IdentityCodes } from '../../storage/identity-codes.js';
import { Unauthorized } from '../http/errors.js';
import { EdsError, type EdsVerifier } from './eds.js';
import type { MessageSender } from './messages.js';

export const Iin = Type.String({ pattern: '^[0-9]{12}$', description: 'IIN or BIN: 12 digits' });
export const Phone = Type.String({
  pattern: '^\\+?[0-9]{10,15}$',
  description: 'Mobile phone, digits with an optional leading +',
});
export const Code = Type.String({ pattern: '^[0-9]{6}$', description: 'The 6-digit code sent' });

export const EdsProof = Type.Object(
  {
    method: Type.Literal('eds'),
    challenge: Type.String({ minLength: 1, maxLength: 200, description: 'From /auth/challenge' }),
    signature: Type.String({
      minLength: 1,
      maxLength: 200_000,
      description: 'Base64 CMS/PKCS#7 SignedData over the challenge (NCALayer)',
    }),
  },
  { additionalProperties: false },
);

export const OtpProof = Type.Object(
  { method: Type.Literal('otp'), iin: Iin, phone: Phone, code: Code },
  { additionalProperties: false },
);

/** `method` picks the branch, so a schema error names the field of that branch. */
export const Proof = Type.Unsafe<Static<typeof EdsProof> | Static<typeof OtpProof>>({
  type: 'object',
  required: ['method'],
  properties: { method: { type: 'string', enum: ['eds', 'otp'] } },
  if: { properties: { method: { const: 'eds' } } },
  then: EdsProof,
  else: OtpProof,
});
export type ProofBody = Static<typeof Proof>;

export interface ProvenIdentity {
  method: 'eds' | 'otp';
  iin: string;
  /** The organization's BIN (an organization's EDS key only). */
  bin: string | null;
  /** The phone a code went to (OTP only). */
  phone?: string;
}

export interface IdentityDeps {
  codes: IdentityCodes;
  /** Null when no CA is configured (OFD_EDS_CA_FILE): EDS proofs are refused. */
  eds: EdsVerifier | null;
  sms: MessageSender;
  email: MessageSender;
}

export const otpSubject = (iin: string, phone: string) => `otp:${iin}:${phone}`;
export const emailSubject = (email: string) => `email:${email.toLowerCase()}`;

const CODE_REFUSALS = {
  wrong: 'the code is wrong',
  expired: 'the code expired or was never sent; ask for a new one',
  exhausted: 'too many wrong codes; ask for a new one',
} as const;

/** Checks a one-time code; 401 naming why not. */
export async function checkCode(deps: IdentityDeps, subject: string, code: string) {
  const result = await deps.codes.check(subject, code);
  if (result !== 'ok') throw new Unauthorized(CODE_REFUSALS[result]);
}

/** Verifies a proof (using it up); 401 with the reason when it does not hold. */
export async function prove(deps: IdentityDeps, proof: ProofBody): Promise<ProvenIdentity> {
  if (proof.method === 'otp') {
    await checkCode(deps, otpSubject(proof.iin, proof.phone), proof.code);
    return { method: 'otp', iin: proof.iin, bin: null, phone: proof.phone };
  }
  if (!deps.eds) throw new Unauthorized('EDS is not accepted here: no CA is configured');
  if (!(await deps.codes.takeChallenge(proof.challenge))) {
    throw new Unauthorized('the challenge is unknown, used or expired; ask for a new one');
  }
  try {
    const id = await deps.eds.verify(proof.signature, proof.challenge);
    return { method: 'eds', iin: id.iin, bin: id.bin };
  } catch (err) {
    if (err instanceof EdsError)
      throw new Unauthorized(`EDS refused (${err.refusal}): ${err.message}`);
    throw err;
  }
}
