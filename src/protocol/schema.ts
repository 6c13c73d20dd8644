// The protocol's protobuf messages, compiled from proto/*.proto by scripts/gen-proto.sh.
// uint64 fields decode to plain numbers (see numbers.ts).
import './numbers.js';
import { kkm } from './generated/kkm.js';

export const proto = kkm.proto;
export const Request = kkm.proto.Request;
export const Response = kkm.proto.Response;
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

export const Command = kkm.proto.CommandTypeEnum;
export const ResultCode = kkm.proto.ResultTypeEnum;
export const Operation = kkm.proto.OperationTypeEnum;
export const PaymentType = kkm.proto.PaymentTypeEnum;
export const ReportType = kkm.proto.ReportTypeEnum;
export const MoneyPlacementType = kkm.proto.MoneyPlacementEnum;
export const ItemType = kkm.proto.TicketRequest.Item.ItemTypeEnum;
