// Golden wire fixtures: payloads encoded once with each reference KKM-OFD contract (2.0.2 in
// test/fixtures/protocol/, 2.0.3 in test/fixtures/protocol/v203/; see the READMEs there) must
// decode with OUR schema of that revision to the recorded value and re-encode to the very same
// bytes.
import t, { type Test as Tap } from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type protobuf from 'protobufjs';
import { V202, V203 } from '../../src/protocol/versions.js';
import type { Revision } from '../../src/protocol/revision.js';

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  bytes: String, // base64
  defaults: false,
  arrays: false,
};

/** Command name (fixture file prefix) -> CommandTypeEnum code from the protocol. */
const COMMANDS: Record<string, number> = {
  system: 0,
  ticket: 1,
  close_shift: 2,
  report: 3,
  nomenclature: 4,
  info: 5,
  money_placement: 6,
  cancel_ticket: 7,
  auth: 8,
};

const FIXTURE_RE = /^(.+)\.(request|response)\.(bin|json)$/;

interface MessageType {
  decode(bytes: Uint8Array): object;
  encode(message: object): { finish(): Uint8Array };
  toObject(message: object, options: protobuf.IConversionOptions): Record<string, unknown>;
}

const REVISIONS: [string, Revision][] = [
  ['../fixtures/protocol/', V202],
  ['../fixtures/protocol/v203/', V203],
];

for (const [dir, schema] of REVISIONS) {
  const FIXTURES_DIR = fileURLToPath(new URL(dir, import.meta.url));
  t.test(`protocol ${schema.name}`, (t) => {
    checkFixtures(t, FIXTURES_DIR, schema);
    t.end();
  });
}

function checkFixtures(t: Tap, FIXTURES_DIR: string, schema: Revision): void {
  const files = readdirSync(FIXTURES_DIR);
  const fixtures = [
    ...new Set(
      files.flatMap((f) => {
        const m = FIXTURE_RE.exec(f);
        return m ? [`${m[1]}.${m[2]}`] : [];
      }),
    ),
  ].sort();

  const typeOf = (fixture: string): MessageType =>
    (fixture.endsWith('.request') ? schema.Request : schema.Response) as unknown as MessageType;

  for (const fixture of fixtures) {
    t.test(fixture, (t) => {
      const binPath = `${FIXTURES_DIR}${fixture}.bin`;
      const jsonPath = `${FIXTURES_DIR}${fixture}.json`;
      t.ok(existsSync(binPath), `${fixture}.bin exists`);
      t.ok(existsSync(jsonPath), `${fixture}.json exists`);
      if (!existsSync(binPath) || !existsSync(jsonPath)) return t.end();

      const type = typeOf(fixture);
      const original = readFileSync(binPath);
      const expected: unknown = JSON.parse(readFileSync(jsonPath, 'utf8'));

      const message = type.decode(original);
      const actual = type.toObject(message, TO_OBJECT);
      t.strictSame(actual, expected, 'decodes to the recorded value');

      const reencoded = Buffer.from(type.encode(message).finish());
      const same = Buffer.compare(reencoded, original) === 0;
      let detail = '';
      if (!same) {
        let i = 0;
        while (i < reencoded.length && i < original.length && reencoded[i] === original[i]) i++;
        detail =
          `: re-encoded ${reencoded.length} B vs fixture ${original.length} B, ` +
          `first difference at byte ${i}`;
      }
      t.ok(same, `re-encodes to the same bytes${detail}`);
      t.end();
    });
  }

  t.test('every command has a request and a response fixture', (t) => {
    const commandOf = (fixture: string): unknown => {
      const binPath = `${FIXTURES_DIR}${fixture}.bin`;
      if (!existsSync(binPath)) return undefined;
      const type = typeOf(fixture);
      return type.toObject(type.decode(readFileSync(binPath)), TO_OBJECT).command;
    };
    for (const [name, code] of Object.entries(COMMANDS)) {
      for (const kind of ['request', 'response']) {
        const matching = fixtures.filter(
          (f) =>
            f.endsWith(`.${kind}`) &&
            (f === `${name}.${kind}` || f.startsWith(`${name}_`)) &&
            commandOf(f) === code,
        );
        t.ok(matching.length > 0, `${name}: ${kind} fixture with command ${code}`);
      }
    }
    t.end();
  });
}
