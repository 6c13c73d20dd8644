// The protocol's protobuf messages, loaded by reflection from the descriptor that
// scripts/gen-proto.sh compiles out of proto/*.proto. Reflection decodes 1.15-1.5x faster than
// protobufjs static code here (bench/protocol.ts); the static declarations only type it.
// uint64 fields decode to plain numbers (see numbers.ts).
import './numbers.js';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs/light.js';
import type { kkm } from './generated/kkm.js';

const descriptor = (): protobuf.INamespace =>
  JSON.parse(readFileSync(new URL('./generated/kkm.json', import.meta.url), 'utf8'));

const root = protobuf.Root.fromJSON(descriptor());

/**
 * The same messages with every field optional: they decode what a strict decode refuses (to
 * answer it with the right command and code) and encode what a device should never send (tests).
 */
export const lenient = (() => {
  const relaxed: unknown = descriptor();
  const relax = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.rule === 'required') delete record.rule;
    for (const value of Object.values(record)) relax(value);
  };
  relax(relaxed);
  const relaxedRoot = protobuf.Root.fromJSON(relaxed as protobuf.INamespace);
  return {
    Request: relaxedRoot.lookupType('kkm.proto.Request'),
    Response: relaxedRoot.lookupType('kkm.proto.Response'),
  };
})();
const enumValues = <T>(name: string): T => root.lookupEnum(`kkm.proto.${name}`).values as T;

/** Message types by their protocol names (nested types as properties, e.g. proto.TicketRequest.Item). */
export const proto = root.lookup('kkm.proto') as unknown as Omit<
  typeof kkm.proto,
  'CommandTypeEnum' | 'ResultTypeEnum'
>;
export const Request = proto.Request;
export const Response = proto.Response;
export type Request = kkm.proto.Request;
export type Response = kkm.proto.Response;
export type IRequest = kkm.proto.IRequest;
export type IResponse = kkm.proto.IResponse;
export type IMoney = kkm.proto.IMoney;
export type IDateTime = kkm.proto.IDateTime;
export type IZXReport = kkm.proto.IZXReport;
export type ITicketRequest = kkm.proto.ITicketRequest;
export type ICloseShiftRequest = kkm.proto.ICloseShiftRequest;
export type IMoneyPlacementRequest = kkm.proto.IMoneyPlacementRequest;
export type IReportRequest = kkm.proto.IReportRequest;
export type IServiceRequest = kkm.proto.IServiceRequest;
export type IServiceResponse = kkm.proto.IServiceResponse;

export const Command = enumValues<typeof kkm.proto.CommandTypeEnum>('CommandTypeEnum');
export const ResultCode = enumValues<typeof kkm.proto.ResultTypeEnum>('ResultTypeEnum');
export const Operation = enumValues<typeof kkm.proto.OperationTypeEnum>('OperationTypeEnum');
export const PaymentType = enumValues<typeof kkm.proto.PaymentTypeEnum>('PaymentTypeEnum');
export const ReportType = enumValues<typeof kkm.proto.ReportTypeEnum>('ReportTypeEnum');
export const MoneyPlacementType =
  enumValues<typeof kkm.proto.MoneyPlacementEnum>('MoneyPlacementEnum');
export const ItemType = enumValues<typeof kkm.proto.TicketRequest.Item.ItemTypeEnum>(
  'TicketRequest.Item.ItemTypeEnum',
);
export const NomenclatureResult = enumValues<
  typeof kkm.proto.NomenclatureResponse.NomenclatureResultTypeEnum
>('NomenclatureResponse.NomenclatureResultTypeEnum');
export const AuthResult = enumValues<typeof kkm.proto.AuthResponse.ResultTypeEnum>(
  'AuthResponse.ResultTypeEnum',
);
