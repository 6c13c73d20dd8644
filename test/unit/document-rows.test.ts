// Row building without a server: a ticket's lines, payments and taxes as parallel arrays in tiyn,
// and the refusal of amounts that are not money.
import t from 'tap';
import {
  InvalidDocumentError,
  placementFigures,
  ticketFigures,
} from '../../src/fiscal/document-rows.js';
import { toTiyn } from '../../src/fiscal/money.js';
import { PaymentType } from '../../src/protocol/schema.js';
import { seededRandom, ticket, vatIncluded } from '../../src/sim/documents.js';

t.test('a ticket of three lines paid in cash and by card', async (t) => {
  const request = ticket(seededRandom(3), {
    items: 3,
    payments: [PaymentType.PAYMENT_CASH, PaymentType.PAYMENT_CARD],
  });
  const f = ticketFigures(request);
  const sums = request.items!.map((i) => toTiyn(i.commodity!.sum)!);
  t.same(f['items.sum'], sums);
  t.equal(
    f.total,
    sums.reduce((a, b) => a + b, 0),
  );
  t.same(f['items.section'], ['1', '2', '3']);
  t.same(f['payments.type'], [PaymentType.PAYMENT_CASH, PaymentType.PAYMENT_CARD]);
  t.equal(
    (f['payments.sum'] as number[]).reduce((a, b) => a + b, 0),
    f.total,
  );
  t.ok(Number.isInteger(f.total) && (f['items.sum'] as number[]).every(Number.isInteger), 'tiyn');
  // Lines 1 and 2 carry 12% VAT, line 3 none: one tax row over the taxed lines' turnover.
  t.same(f['taxes.percent'], [request.items![0]!.commodity!.taxes![0]!.percent]);
  t.same(f['taxes.sum'], [vatIncluded(sums[0]!) + vatIncluded(sums[1]!)]);
  t.same(f['taxes.turnover'], [sums[0]! + sums[1]!]);
  t.same(ticketFigures(request), f, 'the same request gives the same row');
});

t.test('amounts that are not money are refused with the field named', async (t) => {
  const request = ticket(seededRandom(4), { items: 1 });
  request.items![0]!.commodity!.sum = { bills: 1, coins: 100 };
  t.throws(
    () => ticketFigures(request),
    new InvalidDocumentError('items[0].sum is not a valid amount'),
  );
  const noBody = ticket(seededRandom(4), { items: 1 });
  delete noBody.items![0]!.commodity;
  t.throws(() => ticketFigures(noBody), /items\[0\] has no body for type/);
});

t.test('money placements', async (t) => {
  t.match(placementFigures(true, 500), { doc_type: 'money_placement', placement: 0, total: 500 });
  t.match(placementFigures(false, 700), { placement: 1, total: 700 });
});
