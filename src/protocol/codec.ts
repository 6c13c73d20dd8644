// Typed request decoding and response encoding. A request is decoded strictly (proto2 required
// fields enforced); a failure is explained by a lenient second decode so that each malformed
// request gets the result code the protocol document names for it.
import protobuf from 'protobufjs/light.js';
import {
  CURRENT_VERSION,
  encodeFrame,
  isSupportedVersion,
  versionText,
  type FrameHeader,
} from './header.js';
import type { Frame } from './framer.js';
import { Command, ResultCode, type IResponse, type Request } from './schema.js';
import { is203, schemaFor } from './versions.js';
import { missing203 } from './rules-203.js';
import type { Revision } from './revision.js';

export type Rejection = { ok: false; command: number; code: number; reason: string };
export type Decoded = { ok: true; request: Request } | Rejection;

const KNOWN_COMMANDS = new Set<number>([
  Command.COMMAND_SYSTEM,
  Command.COMMAND_TICKET,
  Command.COMMAND_CLOSE_SHIFT,
  Command.COMMAND_REPORT,
  Command.COMMAND_NOMENCLATURE,
  Command.COMMAND_INFO,
  Command.COMMAND_MONEY_PLACEMENT,
  Command.COMMAND_CANCEL_TICKET,
  Command.COMMAND_AUTH,
]);

const reject = (command: number, code: number, reason: string): Rejection => ({
  ok: false,
  command,
  code,
  reason,
});

type Loose = Record<string, unknown> & { command?: number; ticket?: Record<string, unknown> };

/** The raw value of Request.command (field 1), found without a schema; null when absent. */
export function peekCommand(payload: Uint8Array): number | null {
  try {
    const reader = protobuf.Reader.create(payload);
    let command: number | null = null;
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag === 8) command = reader.int32();
      else reader.skipType(tag & 7);
    }
    return command;
  } catch {
    return null;
  }
}

function explainFailure(schema: Revision, payload: Uint8Array, error: Error): Rejection {
  // proto2 enums are closed: an unknown command code decodes as a missing command.
  const rawCommand = peekCommand(payload);
  if (rawCommand !== null && !KNOWN_COMMANDS.has(rawCommand)) {
    return reject(
      rawCommand,
      ResultCode.RESULT_TYPE_UNKNOWN_COMMAND,
      `unknown command ${rawCommand}`,
    );
  }
  let loose: Loose;
  try {
    loose = schema.lenient.Request.decode(payload) as unknown as Loose;
  } catch {
    return reject(Command.COMMAND_SYSTEM, ResultCode.RESULT_TYPE_PROTOCOL_ERROR, error.message);
  }
  const command = typeof loose.command === 'number' ? loose.command : Command.COMMAND_SYSTEM;
  // Section 2.4, code 15: a ticket missing a mandatory parameter is answered BLOCKED.
  if (command === Command.COMMAND_TICKET && isTicketFieldMissing(error.message)) {
    return reject(command, ResultCode.RESULT_TYPE_BLOCKED, `ticket: ${error.message}`);
  }
  return reject(command, ResultCode.RESULT_TYPE_PROTOCOL_ERROR, error.message);
}

const TICKET_REQUIRED = /missing required '(operation|date_time|operator|amounts|total)'/;
const isTicketFieldMissing = (message: string): boolean => TICKET_REQUIRED.test(message);

/** Decodes and checks a request frame; never throws. */
export function decodeRequest(frame: Frame): Decoded {
  // The header's VERSION picks the schema: 203 reads 2.0.3, everything else 2.0.2.
  const schema = schemaFor(frame.header.version);
  let request: Request;
  try {
    request = schema.Request.decode(frame.payload) as unknown as Request;
  } catch (error) {
    return explainFailure(schema, frame.payload, error as Error);
  }
  const command = request.command;
  if (!isSupportedVersion(frame.header.version)) {
    return reject(
      command,
      ResultCode.RESULT_TYPE_PROTOCOL_ERROR,
      `protocol version ${frame.header.version} (${versionText(frame.header.version)}) is not 2.0.0-2.0.3`,
    );
  }
  if (command === Command.COMMAND_RESERVED) {
    return reject(command, ResultCode.RESULT_TYPE_UNSUPPORTED_COMMAND, 'COMMAND_RESERVED');
  }
  if (!KNOWN_COMMANDS.has(command)) {
    return reject(command, ResultCode.RESULT_TYPE_UNKNOWN_COMMAND, `unknown command ${command}`);
  }
  const missing =
    missingForCommand(request, frame.header.version) ??
    (is203(frame.header.version) ? missing203(request) : null);
  if (missing) return reject(command, missing.code, missing.reason);
  return { ok: true, request };
}

/** Per-command mandatory parts as the document states them for 1.2.5 and later. */
function missingForCommand(
  request: Request,
  version: number,
): { code: number; reason: string } | null {
  const protocolError = (reason: string) => ({
    code: ResultCode.RESULT_TYPE_PROTOCOL_ERROR,
    reason,
  });
  switch (request.command) {
    case Command.COMMAND_TICKET: {
      const blocked = (reason: string) => ({ code: ResultCode.RESULT_TYPE_BLOCKED, reason });
      if (!request.ticket) return blocked('ticket is missing');
      if (!request.ticket.items?.length) return blocked('ticket has no items');
      return null;
    }
    case Command.COMMAND_CLOSE_SHIFT:
      if (!request.close_shift) return protocolError('close_shift is missing');
      if (!request.close_shift.z_report) return protocolError('close_shift.z_report is missing');
      if (!request.close_shift.operator) return protocolError('close_shift.operator is missing');
      return null;
    case Command.COMMAND_REPORT:
      if (!request.report) return protocolError('report is missing');
      if (!request.report.zx_report) return protocolError('report.zx_report is missing');
      return null;
    case Command.COMMAND_MONEY_PLACEMENT:
      if (!request.money_placement) return protocolError('money_placement is missing');
      if (version >= 202 && !request.money_placement.operator) {
        return protocolError('money_placement.operator is required since 2.0.2');
      }
      return null;
    case Command.COMMAND_NOMENCLATURE:
      return request.nomenclature ? null : protocolError('nomenclature is missing');
    case Command.COMMAND_AUTH:
      return request.auth ? null : protocolError('auth is missing');
    default:
      return null;
  }
}

/** The answer frame: same ID and REQNUM as the request, the given TOKEN. */
export function encodeResponse(
  request: Pick<FrameHeader, 'version' | 'deviceId' | 'reqNum'>,
  token: number,
  response: IResponse,
): Buffer {
  const version = isSupportedVersion(request.version) ? request.version : CURRENT_VERSION;
  const payload = schemaFor(version).Response.encode(response).finish();
  return encodeFrame(
    { version, deviceId: request.deviceId, token, reqNum: request.reqNum },
    payload,
  );
}

/** A bare answer carrying only a result code (errors, and commands with no data). */
export function resultResponse(command: number, code: number, text?: string): IResponse {
  const result =
    text === undefined ? { result_code: code } : { result_code: code, result_text: text };
  return { command, result };
}
