// The rows of an X or Z report as the cabinet shows them: the figures the server compares
// (src/fiscal/zx-report.ts compareReports, whose field names the API's `differences` carry),
// the device's and the server's side by side. Reports are report.proto JSON, money in tiyn.
import { OPERATION_ORDER, PAYMENT_NAMES } from './names';

interface ReportJson {
  shift_number?: number;
  ticket_operations?: {
    operation: number;
    tickets_count?: number;
    tickets_sum?: number;
    payments?: { payment: number; sum?: number }[];
  }[];
  money_placements?: { operation: number; operations_sum?: number }[];
  cash_sum?: number;
  revenue?: { sum?: number; is_negative?: boolean };
}

export type RowLabel =
  | { kind: 'shift' }
  | { kind: 'count' | 'sum'; operation: number }
  | { kind: 'payment'; operation: number; payment: number }
  | { kind: 'placement'; placement: number }
  | { kind: 'cash' }
  | { kind: 'revenue' };

export interface ReportRow {
  field: string;
  label: RowLabel;
  money: boolean;
  device: number | null;
  server: number | null;
  differs: boolean;
}

function figures(r: ReportJson | null): Map<string, number> {
  const out = new Map<string, number>();
  if (!r) return out;
  out.set('shift_number', r.shift_number ?? 0);
  for (const op of r.ticket_operations ?? []) {
    const at = `ticket_operations[${op.operation}]`;
    out.set(`${at}.tickets_count`, op.tickets_count ?? 0);
    out.set(`${at}.tickets_sum`, op.tickets_sum ?? 0);
    for (const p of op.payments ?? []) out.set(`${at}.payments[${p.payment}].sum`, p.sum ?? 0);
  }
  for (const m of r.money_placements ?? []) {
    out.set(`money_placements[${m.operation}].operations_sum`, m.operations_sum ?? 0);
  }
  out.set('cash_sum', r.cash_sum ?? 0);
  const revenue = r.revenue?.sum ?? 0;
  out.set('revenue', r.revenue?.is_negative ? -revenue : revenue);
  return out;
}

export function reportRows(
  device: unknown,
  server: unknown,
  differences: { field: string }[],
): ReportRow[] {
  const d = figures(device as ReportJson | null);
  const s = figures(server as ReportJson | null);
  const differing = new Set(differences.map((x) => x.field));
  const candidates: { field: string; label: RowLabel; money: boolean; always?: boolean }[] = [
    { field: 'shift_number', label: { kind: 'shift' }, money: false, always: true },
  ];
  for (const operation of OPERATION_ORDER) {
    const at = `ticket_operations[${operation}]`;
    const always = operation === 2;
    candidates.push({
      field: `${at}.tickets_count`,
      label: { kind: 'count', operation },
      money: false,
      always,
    });
    candidates.push({
      field: `${at}.tickets_sum`,
      label: { kind: 'sum', operation },
      money: true,
      always,
    });
    PAYMENT_NAMES.forEach((_, payment) =>
      candidates.push({
        field: `${at}.payments[${payment}].sum`,
        label: { kind: 'payment', operation, payment },
        money: true,
      }),
    );
  }
  for (const placement of [0, 1]) {
    candidates.push({
      field: `money_placements[${placement}].operations_sum`,
      label: { kind: 'placement', placement },
      money: true,
    });
  }
  candidates.push({ field: 'cash_sum', label: { kind: 'cash' }, money: true, always: true });
  candidates.push({ field: 'revenue', label: { kind: 'revenue' }, money: true, always: true });
  // A row is shown when it has a figure on either side, is always shown, or differs.
  return candidates
    .map((c) => ({
      field: c.field,
      label: c.label,
      money: c.money,
      device: device ? (d.get(c.field) ?? 0) : null,
      server: server ? (s.get(c.field) ?? 0) : null,
      differs: differing.has(c.field) || (c.field === 'revenue' && differing.has('revenue')),
      always: c.always,
    }))
    .filter((r) => r.always || r.differs || r.device || r.server)
    .map(({ always: _always, ...r }) => r);
}
