// Receipt ads (section 5.4): the operator sets an organization's texts; a device tells in
// service.ticket_ad_infos which versions it has and gets the newer ones in
// ServiceResponse.ticket_ads. A blocked KKM is answered the TICKET_AD_INFO text it must print.
import { ResultCode, type IResponse, type IServiceRequest } from '../../protocol/schema.js';
import type { DeviceState } from '../../fiscal/device-state.js';
import type { OrgReader } from './types.js';

const TICKET_AD_INFO = 4;

type Ad = { type: number; version: number; text: string };
const wire = (a: Ad) => ({ info: { type: a.type, version: a.version }, text: a.text });

/** The org's ads the device does not have in this version yet. */
export function newerAds(ads: Ad[], service: IServiceRequest | null | undefined) {
  if (!ads.length) return [];
  const has = new Map<number, number>();
  for (const info of service?.ticket_ad_infos ?? []) {
    has.set(info.type ?? 0, Number(info.version ?? 0));
  }
  return ads.filter((a) => (has.get(a.type) ?? -1) < a.version).map(wire);
}

/** A BLOCKED answer with the org's TICKET_AD_INFO text, or null when it has none. */
export async function blockedResponse(
  orgs: OrgReader,
  state: DeviceState,
  command: number,
): Promise<IResponse | null> {
  const info = (await orgs.ads(state.orgId)).find((a) => a.type === TICKET_AD_INFO);
  if (!info) return null;
  return {
    command,
    result: { result_code: ResultCode.RESULT_TYPE_BLOCKED, result_text: `KKM is ${state.status}` },
    service: { ticket_ads: [wire(info)] },
  };
}
