// The protocol's protobuf messages (see versions.ts for the two revisions). The exports here
// are 2.0.2's messages, which every revision shares but for the fields 2.0.3 adds; the types
// are 2.0.3's, a superset (a 2.0.2 request simply lacks the 2.0.3 fields), and so are the enum
// values (2.0.3 adds result code 18). uint64 fields decode to plain numbers (see numbers.ts).
import type { kkm } from './generated/kkm203.js';
import { V202, V203 } from './versions.js';

const root = V202.root;

/** Decode/encode without required-field checks (2.0.2). */
export const lenient = V202.lenient;
const enumValues = <T>(name: string): T => V203.root.lookupEnum(`kkm.proto.${name}`).values as T;

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
export type INomenclatureRequest = kkm.proto.INomenclatureRequest;
export type ITicketPayment = kkm.proto.TicketRequest.IPayment;
export type IParentTicket = kkm.proto.TicketRequest.IParentTicket;

export const Command = enumValues<typeof kkm.proto.CommandTypeEnum>('CommandTypeEnum');
export const ResultCode = enumValues<typeof kkm.proto.ResultTypeEnum>('ResultTypeEnum');
export const DomainType = enumValues<typeof kkm.proto.DomainTypeEnum>('DomainTypeEnum');
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
