// The parts of the one-receipt answer that protocol 2.0.3 added: per line the NTIN, the excise
// stamps (a 2.0.2 receipt's single excise_stamp is the one entry) and the measure unit code; per
// payment the card and mobile details; the parent ticket of a return; the domain. A 2.0.2
// receipt answers the same shape with empty values and nulls.
import { Type } from 'typebox';
import { DomainType } from '../../protocol/schema.js';
import type { TicketDetail } from '../../storage/cabinet-queries.js';
import { isoWall } from './read-support.js';
import { answerObject, nullable } from '../http/schemas.js';

export const item203Properties = {
  ntin: Type.String({ description: 'national product code (NTIN), 2.0.3' }),
  exciseStamps: Type.Array(Type.String()),
  measureUnitCode: Type.String(),
};

export const payment203Properties = {
  card: nullable(
    answerObject({
      terminalId: Type.String(),
      cardType: Type.String(),
      authorizationCode: Type.Integer(),
      rrn: Type.Integer(),
      receiptNumber: Type.Integer(),
    }),
  ),
  mobile: nullable(answerObject({ qrType: Type.String(), qrId: Type.String() })),
};

export const receipt203Properties = {
  protocolVersion: Type.Integer({ description: 'header VERSION the receipt came with' }),
  domain: nullable(Type.String({ description: 'trading, services, gasoil, …; null: none' })),
  parentTicket: nullable(
    answerObject({
      number: Type.String(),
      dateTime: Type.String({ description: 'device wall clock, no time zone' }),
      kgdKkmId: Type.String(),
      total: Type.Integer({ description: 'tiyn' }),
      offline: Type.Boolean(),
    }),
  ),
};

const DOMAIN_NAMES = new Map(
  Object.entries(DomainType as unknown as Record<string, number>).map(([k, v]) => [
    v,
    k.slice('DOMAIN_'.length).toLowerCase(),
  ]),
);

/** The receipt's 2.0.3 parts, and those of its lines and payments by index. */
export function receipt203Json(t: TicketDetail) {
  const v = t.v203;
  return {
    protocolVersion: v.protocolVersion,
    domain: DOMAIN_NAMES.get(v.domain) ?? null,
    parentTicket: v.parentTicket && {
      ...v.parentTicket,
      dateTime: isoWall(v.parentTicket.dateTime),
    },
    item: (i: number) => ({
      ntin: v.items[i]?.ntin ?? '',
      exciseStamps: v.items[i]?.exciseStamps ?? [],
      measureUnitCode: t.items[i]?.unit ?? '',
    }),
    payment: (i: number) => v.payments[i] ?? { card: null, mobile: null },
  };
}
