// Text every JSON body of the cabinet and admin APIs must pass before its route sees it: no lone
// UTF-16 surrogate anywhere (JSON's "\ud800" decodes to one; ClickHouse and the UTF-8 encoders
// would fail on it later, as a 500), and in names no control characters or bidirectional
// overrides (which make "admin‮txt" display as something else). A violation answers 400
// naming the field. KKM frames are binary and never pass here.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Fields that name something a person reads: users, groups, points, organizations, cashiers. */
const NAME_FIELDS = new Set(['name', 'title', 'login', 'address', 'email']);

// C0 and C1 controls, and the bidirectional marks, embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_NAMES = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** In a `u` regexp a surrogate pair is one code point: only a lone half falls in this range. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** The first problem with a body's text: the field and what is wrong, or null. */
export function textProblem(value: unknown, path = 'body'): string | null {
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value))
      return `${path} contains a lone surrogate (not valid Unicode text)`;
    const field = path.slice(path.lastIndexOf('/') + 1);
    if (NAME_FIELDS.has(field) && UNSAFE_IN_NAMES.test(value)) {
      return `${path} contains a control or bidirectional-override character`;
    }
    return null;
  }
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return null;
  for (const [key, item] of Object.entries(value)) {
    if (LONE_SURROGATE.test(key)) return `${path} has a key with a lone surrogate`;
    const problem = textProblem(item, `${path}/${key}`);
    if (problem) return problem;
  }
  return null;
}

/** Checks every JSON body before validation (so before any route or schema sees it). */
export function checkBodyText(app: FastifyInstance): void {
  app.addHook('preValidation', async (req: FastifyRequest, reply: FastifyReply) => {
    const problem = textProblem(req.body);
    if (problem) return reply.code(400).send({ error: 'Bad Request', message: problem });
  });
}
