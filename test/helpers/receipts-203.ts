// A 2.0.3 receipt with every part 2.0.3 adds, for the tests that read those parts back.
import { fromTiyn } from '../../src/fiscal/money.js';
import { PaymentType, type ITicketRequest } from '../../src/protocol/schema.js';
import { seededRandom, ticket } from '../../src/sim/documents.js';

/** A 2.0.3 receipt with every part 2.0.3 adds: NTIN, stamp lists, card and mobile details. */
export function rich203(seed: number, at: Date): ITicketRequest {
  const tk = ticket(seededRandom(seed), {
    items: 2,
    at,
    payments: [PaymentType.PAYMENT_CARD, PaymentType.PAYMENT_MOBILE],
  });
  const [first, second] = tk.items!;
  first!.commodity!.ntin = `04870001${seed}`;
  first!.commodity!.list_excise_stamp = [`STAMP-${seed}-A`, `STAMP-${seed}-B`];
  // 5,000,000 units: past uint32 thousandths, the 64-bit quantity 2.0.3 allows.
  const price = 1; // tiyn per unit
  second!.commodity!.quantity = 5_000_000_000;
  second!.commodity!.price = fromTiyn(price);
  second!.commodity!.sum = fromTiyn(5_000_000 * price);
  second!.commodity!.taxes = [];
  const lines = [first!, second!].map((i) => i.commodity!.sum!);
  const total = lines.reduce((a, m) => a + Number(m.bills) * 100 + Number(m.coins), 0);
  const card = Math.floor(total / 2);
  tk.payments = [
    {
      type: PaymentType.PAYMENT_CARD,
      sum: fromTiyn(card),
      card_payment_fields: {
        pos_terminal_id: `T-${seed}`,
        pos_card_type: 'VISA',
        pos_autorization_code: 481516,
        pos_rrn: 503412345678,
        pos_receipt_number: seed,
      },
    },
    {
      type: PaymentType.PAYMENT_MOBILE,
      sum: fromTiyn(total - card),
      mobile_payment_fields: { qr_type: 'KASPI_QR', qr_id: `kqr-${seed}` },
    },
  ];
  tk.amounts = { total: fromTiyn(total) };
  tk.domain = { type: 1 }; // services
  return tk;
}
