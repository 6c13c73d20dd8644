// The columns every fiscal document shares. token_out, response and state are filled by the
// command core once the answer frame exists.
import type { DocType, DocumentRow } from '../../fiscal/document-rows.js';
import type { DeviceState } from '../../fiscal/device-state.js';
import type { CommandContext } from './types.js';

export function documentRow(
  ctx: CommandContext,
  type: DocType,
  next: DeviceState,
  fields: {
    deviceTime: string;
    offline: boolean;
    printed?: number | null;
    operator?: { code?: number | null; name?: string | null } | null;
  } & Record<string, unknown>,
): DocumentRow {
  const { deviceTime, offline, printed, operator, ...rest } = fields;
  return {
    kkm_id: next.kkmId,
    doc_seq: next.seq,
    doc_type: type,
    org_id: next.orgId,
    point_id: next.pointId,
    shift_number: next.shiftNumber,
    device_time: deviceTime,
    received_at: ctx.receivedAt,
    is_offline: offline ? 1 : 0,
    offline_number: 0,
    printed_number: printed ?? 0,
    req_num: ctx.header.reqNum,
    protocol_version: ctx.header.version,
    token_in: ctx.header.token,
    token_out: 0,
    operator_code: operator?.code ?? 0,
    operator_name: operator?.name ?? '',
    state: '',
    raw_request: ctx.frame.toString('base64'),
    response: '',
    ...rest,
  };
}
