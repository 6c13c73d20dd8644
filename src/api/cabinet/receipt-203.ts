// The parts of the one-receipt answer that protocol 2.0.3 added: per line the NTIN, the excise
// stamps (a 2.0.2 receipt's single excise_stamp is the one entry) and the measure unit code; per
// payment the card and mobile details; the parent ticket of a return; the domain. A 2.0.2
// receipt answers the same shape with empty values and nulls.
import { DomainType } from '../../protocol/schema.js';
import type { TicketDetail } from '../../storage/cabinet-queries.js';
import { isoWall } from './read-support.js';

const nullable = (properties: Record<string, unknown>) =>
  ({ type: ['object', 'null'], properties }) as const;

export const item203Properties = {
  ntin: { type: 'string', description: 'national product code (NTIN), 2.0.3' },
  exciseStamps: { type: 'array', items: { type: 'string' } },
  measureUnitCode: { type: 'string' },
} as const;

export const payment203Properties = {
  card: nullable({
    terminalId: { type: 'string' },
    cardType: { type: 'string' },
    authorizationCode: { type: 'integer' },
    rrn: { type: 'integer' },
    receiptNumber: { type: 'integer' },
  }),
  mobile: nullable({ qrType: { type: 'string' }, qrId: { type: 'string' } }),
} as const;

export const receipt203Properties = {
  protocolVersion: { type: 'integer', description: 'header VERSION the receipt came with' },
  domain: { type: ['string', 'null'], description: 'trading, services, gasoil, …; null: none' },
  parentTicket: nullable({
    number: { type: 'string' },
    dateTime: { type: 'string', description: 'device wall clock, no time zone' },
    kgdKkmId: { type: 'string' },
    total: { type: 'integer', description: 'tiyn' },
    offline: { type: 'boolean' },
  }),
} as const;

const DOMAIN_NAMES = new Map(
  Object.entries(DomainType as unknown as Record<string, number>).map(([k, v]) => [
    v,
    k.slice('DOMAIN_'.length).toLowerCase(),
  ]),
);

/** The receipt's own 2.0.3 parts (its lines' are receiptLines'). */
export function receipt203Json(t: TicketDetail) {
  const v = t.v203;
  return {
    protocolVersion: v.protocolVersion,
    domain: DOMAIN_NAMES.get(v.domain) ?? null,
    parentTicket: v.parentTicket && {
      ...v.parentTicket,
      dateTime: isoWall(v.parentTicket.dateTime),
    },
  };
}
