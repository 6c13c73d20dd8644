// The service part (section 3.10) may come with any request, not only COMMAND_SYSTEM: a device
// uploading after an outage sends offline_period with its first document, and reg_info comes
// with every fiscal request. The offline period is kept whatever the command (reconciliation
// needs it); the rest — communication quality, software, registration data — is kept from
// COMMAND_SYSTEM only, so receipts do not each write a copy of the register's reg_info.
import { wallClock } from '../../protocol/datetime.js';
import type { IServiceRequest } from '../../protocol/schema.js';
import type { CommandContext, EventRow } from './types.js';

/** Device events worth keeping from the service part of any request. */
export function serviceEvents(
  ctx: CommandContext,
  service: IServiceRequest | null | undefined,
  everything: boolean,
): EventRow[] {
  if (!service) return [];
  const events: EventRow[] = [];
  const add = (kind: string, detail: unknown) =>
    events.push({
      kkm_id: ctx.state.kkmId,
      received_at: ctx.receivedAt,
      kind,
      detail: JSON.stringify(detail),
    });
  if (service.offline_period) {
    add('offline_period', {
      begin: wallClock(service.offline_period.begin_time),
      end: wallClock(service.offline_period.end_time),
    });
  }
  if (!everything) return events;
  if (service.comm_quality) add('comm_quality', service.comm_quality);
  if (service.software_information) add('software_information', service.software_information);
  if (service.reg_info) add('reg_info', service.reg_info);
  // Where the register stands (2.0.3 adds the position's source).
  if (service.security_stats?.geo_position)
    add('geo_position', service.security_stats.geo_position);
  return events;
}
