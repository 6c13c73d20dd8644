// X/Z report building without a server: the figures of a shift's documents, annulled tickets,
// money placements, running totals, and the comparison a register's own report is held to.
import t from 'tap';
import {
  placementFigures,
  ticketFigures,
  type DocumentFigures,
} from '../../src/fiscal/document-rows.js';
import { toTiyn } from '../../src/fiscal/money.js';
import {
  buildReport,
  compareReports,
  ticketCashDelta,
  totalsAfter,
  zeroTotals,
} from '../../src/fiscal/zx-report.js';
import { Operation, PaymentType } from '../../src/protocol/schema.js';
import { dateTime, seededRandom, ticket } from '../../src/sim/documents.js';

const random = seededRandom(7);
let seq = 0;
const sale = (operation = Operation.OPERATION_SELL, payments = [PaymentType.PAYMENT_CASH]) => {
  const request = ticket(random, { items: 3, operation, payments });
  return {
    request,
    figures: {
      ...ticketFigures(request),
      doc_seq: ++seq,
      doc_type: 'ticket',
      operation,
      is_offline: 0,
      placement: 0,
      cancelled_seq: 0,
    } as unknown as DocumentFigures,
  };
};
const meta = { shiftNumber: 3, dateTime: dateTime(new Date(Date.UTC(2025, 2, 1, 12))) };

t.test('sales, a return, a card payment, a placement and an annulled ticket', async (t) => {
  const a = sale();
  const b = sale(Operation.OPERATION_SELL, [PaymentType.PAYMENT_CARD]);
  const back = sale(Operation.OPERATION_SELL_RETURN);
  const annulled = sale();
  const cancel = {
    ...annulled.figures,
    doc_seq: ++seq,
    doc_type: 'cancel_ticket',
    cancelled_seq: annulled.figures.doc_seq,
  } as DocumentFigures;
  const float = { ...placementFigures(true, 50_000_00), doc_seq: ++seq };
  const docs = [a.figures, b.figures, back.figures, annulled.figures, cancel, float];
  const report = buildReport(docs, zeroTotals(), meta);

  const sell = report.ticket_operations!.find((o) => o.operation === Operation.OPERATION_SELL)!;
  t.equal(sell.tickets_count, 2, 'the annulled ticket is not counted');
  t.equal(toTiyn(sell.tickets_sum), a.figures.total + b.figures.total);
  const card = sell.payments!.find((p) => p.payment === PaymentType.PAYMENT_CARD)!;
  t.equal(toTiyn(card.sum), b.figures.total);
  const cash =
    50_000_00 +
    ticketCashDelta(a.figures) +
    ticketCashDelta(b.figures) +
    ticketCashDelta(back.figures);
  t.equal(toTiyn(report.cash_sum), cash, 'the drawer: float + cash in − cash back');
  t.equal(ticketCashDelta(b.figures), 0, 'a card sale moves no cash');
  t.ok(ticketCashDelta(back.figures) < 0, 'a return pays cash out');
  t.equal(toTiyn(report.revenue!.sum), a.figures.total + b.figures.total - back.figures.total);
  const deposit = report.money_placements!.find((p) => p.operation === 0)!;
  t.equal(deposit.operations_count, 1);
  t.equal(toTiyn(deposit.operations_sum), 50_000_00);
  t.ok(report.checksum, 'the report carries its checksum');

  t.same(buildReport(docs, zeroTotals(), meta), report, 'the same documents give the same report');
  t.same(compareReports(report, report), [], 'a report agrees with itself');
  const other = buildReport([a.figures, float], zeroTotals(), meta);
  const diffs = compareReports(other, report).map((d) => d.field);
  t.ok(diffs.includes('ticket_operations[2].tickets_count'), 'a missing sale is a difference');
  t.ok(diffs.includes('cash_sum'));

  const after = totalsAfter(zeroTotals(), report);
  t.equal(after.ticketCount[Operation.OPERATION_SELL], 2);
  t.equal(after.placementCount[0], 1);
  const next = buildReport([sale().figures], after, { ...meta, shiftNumber: 4 });
  const sell2 = next.ticket_operations!.find((o) => o.operation === Operation.OPERATION_SELL)!;
  t.equal(sell2.tickets_count, 1, 'this shift');
  t.equal(sell2.tickets_total_count, 3, 'since registration');
});

t.test('enum names come from the schema', async (t) => {
  const { OPERATION_NAMES, PAYMENT_NAMES, PLACEMENT_NAMES, itemTypeName, operationName } =
    await import('../../src/fiscal/names.js');
  t.same(OPERATION_NAMES, ['buy', 'buy_return', 'sell', 'sell_return']);
  t.same(PAYMENT_NAMES, ['cash', 'card', 'credit', 'tare', 'mobile']);
  t.same(PLACEMENT_NAMES, ['deposit', 'withdrawal']);
  t.equal(itemTypeName(2), 'storno_commodity');
  t.equal(itemTypeName(0), 'unknown_0', 'a value the schema does not name');
  t.equal(operationName(9), 'unknown_9');
});
