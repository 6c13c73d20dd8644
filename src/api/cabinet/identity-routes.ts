// The public half of self-service (cabinet manual §1): an EDS challenge to sign, a one-time
// code by SMS, an e-mail confirmation code, and the registration of an organization by its
// owner, whose BIN (or an individual entrepreneur's IIN) comes from the proof, never typed.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { addressText, type OrgDetails } from '../../storage/orgs.js';
import { checkPasswordPolicy } from '../password-policy.js';
import { BadRequest, Unavailable } from '../http/errors.js';
import { errorResponses } from '../http/schemas.js';
import { sendError } from '../http/conventions.js';
import {
  Code,
  Iin,
  Phone,
  Proof,
  checkCode,
  emailSubject,
  otpSubject,
  prove,
} from '../identity/proof.js';
import type { MessageSender } from '../identity/messages.js';
import type { CabinetContext } from './index.js';

const text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' });

export const Address = Type.Object(
  {
    region: text(200),
    locality: text(200),
    street: text(200),
    house: text(20),
    building: Type.Optional(Type.String({ maxLength: 20 })),
    flat: Type.Optional(Type.String({ maxLength: 20 })),
  },
  { additionalProperties: false },
);

export const Head = Type.Object(
  { position: text(200), name: text(200) },
  { additionalProperties: false },
);
export const Bank = Type.Object(
  {
    bik: Type.String({ pattern: '^[A-Z0-9]{8}$', description: 'BIK (8 characters)' }),
    iik: Type.String({ pattern: '^KZ[0-9A-Z]{18}$', description: 'IIK (IBAN, KZ + 18)' }),
  },
  { additionalProperties: false },
);
export const LegalForm = Type.Union([
  Type.Literal('legal_entity'),
  Type.Literal('individual_entrepreneur'),
]);

const ChallengeView = Type.Object({
  challenge: Type.String({ description: 'Sign these UTF-8 bytes (CMS, attached or detached)' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
const SentView = Type.Object({ expiresAt: Type.String({ format: 'date-time' }) });

const OtpBody = Type.Object({ iin: Iin, phone: Phone }, { additionalProperties: false });
const EmailCodeBody = Type.Object({ email: Email }, { additionalProperties: false });

const RegistrationBody = Type.Object(
  {
    proof: Proof,
    password: Type.String({ maxLength: 128, description: 'By the cabinet password policy' }),
    legalForm: LegalForm,
    name: text(500),
    head: Type.Optional(Head),
    bank: Type.Optional(Bank),
    legalAddress: Address,
    actualAddress: Type.Optional(Address),
    actualSameAsLegal: Type.Optional(Type.Boolean()),
    okved: Type.Optional(text(64)),
    email: Email,
    emailCode: Code,
    phone: Phone,
    agreementAccepted: Type.Literal(true, { description: 'The user agreement, accepted' }),
  },
  { additionalProperties: false },
);
type Registration = Static<typeof RegistrationBody>;

const RegisteredView = Type.Object({ id: Type.Integer(), bin: Type.String() });

/** Sends a code, or answers 429 when the recipient or address had its share. */
async function sendCode(
  ctx: CabinetContext,
  reply: FastifyReply,
  to: { subject: string; recipient: string; address: string; sender: MessageSender },
) {
  const issued = await ctx.identity.codes.issue(to.subject, to.recipient, to.address);
  if ('retryAfterSeconds' in issued) {
    reply.header('retry-after', String(issued.retryAfterSeconds));
    return sendError(reply, 429, `too many codes sent; try again in ${issued.retryAfterSeconds} s`);
  }
  try {
    await to.sender.send(to.recipient, `OFD cabinet code: ${issued.code}`);
  } catch (err) {
    reply.log.error({ err }, 'self-service: the code could not be sent');
    throw new Unavailable('the code could not be sent; try again later');
  }
  return reply.code(202).send({ expiresAt: issued.expiresAt.toISOString() });
}

export async function identityRoutes(app: FastifyInstance, opts: { ctx: CabinetContext }) {
  const { ctx } = opts;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['auth'];

  r.post(
    '/api/v1/auth/challenge',
    {
      schema: {
        tags,
        summary: 'A challenge to sign with an EDS key (NCALayer), for login or registration',
        security: [],
        response: { 200: ChallengeView },
      },
    },
    async () => {
      const { challenge, expiresAt } = await ctx.identity.codes.challenge();
      return { challenge, expiresAt: expiresAt.toISOString() };
    },
  );

  r.post(
    '/api/v1/auth/otp',
    {
      schema: {
        tags,
        summary: 'Send a one-time code by SMS to the phone of this IIN',
        security: [],
        body: OtpBody,
        response: { 202: SentView, ...errorResponses(400, 429, 503) },
      },
    },
    async (req, reply) => {
      const { iin, phone } = req.body;
      req.log.info({ action: 'otp.send', ip: req.ip }, 'self-service: one-time code requested');
      return sendCode(ctx, reply, {
        subject: otpSubject(iin, phone),
        recipient: phone,
        address: req.ip,
        sender: ctx.identity.sms,
      });
    },
  );

  r.post(
    '/api/v1/registration/email-code',
    {
      schema: {
        tags: ['registration'],
        summary: 'Send a code confirming the e-mail address given at registration',
        security: [],
        body: EmailCodeBody,
        response: { 202: SentView, ...errorResponses(400, 429, 503) },
      },
    },
    async (req, reply) =>
      sendCode(ctx, reply, {
        subject: emailSubject(req.body.email),
        recipient: req.body.email.toLowerCase(),
        address: req.ip,
        sender: ctx.identity.email,
      }),
  );

  r.post(
    '/api/v1/registration',
    {
      schema: {
        tags: ['registration'],
        summary: 'Register an organization; its BIN/IIN comes from the EDS or OTP proof',
        security: [],
        body: RegistrationBody,
        response: { 201: RegisteredView, ...errorResponses(400, 401, 409, 429) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const policy = checkPasswordPolicy(b.password, 'body/password');
      if (policy) return sendError(reply, 400, policy);
      const details = registrationDetails(b);
      const identity = await prove(ctx.identity, b.proof);
      // A legal entity registers with its organization's key; an entrepreneur with its IIN.
      if (b.legalForm === 'legal_entity' && !identity.bin) {
        throw new BadRequest(
          "body/proof a legal entity registers with its organization's EDS key (BIN in the certificate)",
        );
      }
      await checkCode(ctx.identity, emailSubject(b.email), b.emailCode);
      const bin = identity.bin ?? identity.iin;
      const { orgId } = await ctx.registry.orgs.createOrg({
        bin,
        title: b.name,
        address: addressText(b.legalAddress),
        okved: b.okved ?? '-',
        password: b.password,
        details: { ...details, signedBy: identity.method },
      });
      req.log.info(
        { action: 'org.register', orgId, bin, proof: identity.method },
        'self-service: organization registered',
      );
      return reply.code(201).send({ id: orgId, bin });
    },
  );
}

/** What the organization says about itself, with the rules the schema cannot express. */
function registrationDetails(b: Registration): OrgDetails {
  if (b.legalForm === 'legal_entity' && !b.head) {
    throw new BadRequest('body/head is required for a legal entity');
  }
  if (!b.actualAddress && !b.actualSameAsLegal) {
    throw new BadRequest('body/actualAddress is required unless actualSameAsLegal is true');
  }
  return {
    legalForm: b.legalForm,
    ...(b.head ? { head: b.head } : {}),
    ...(b.bank ? { bank: b.bank } : {}),
    legalAddress: b.legalAddress,
    actualAddress: b.actualSameAsLegal ? b.legalAddress : b.actualAddress,
    email: b.email.toLowerCase(),
    phone: b.phone,
    agreementAcceptedAt: new Date().toISOString(),
  };
}
