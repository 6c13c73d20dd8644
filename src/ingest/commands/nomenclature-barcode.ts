// COMMAND_NOMENCLATURE with a barcode (2.0.3): the one element with that barcode from the
// organization's latest nomenclature, else from the national product catalogue (НКТ) the
// operator loads, else nomenclature result ELEMENT_NOT_FOUND_BY_BARCODE with result code 18.
import { fromTiyn } from '../../fiscal/money.js';
import { Command, NomenclatureResult, ResultCode, type IResponse } from '../../protocol/schema.js';

type INomenclatureResponse = NonNullable<IResponse['nomenclature']>;
import type { CommandContext, Outcome } from './types.js';

const ITEM = 1;

export type StoredElement = {
  type: number;
  title: string;
  id: number;
  parent_group_id?: number;
  item?: Record<string, unknown> & { purchase_price?: number; sell_price?: number };
};

/** A stored nomenclature element (money in tiyn) in its wire form. */
export const wireElement = (e: StoredElement) => ({
  ...e,
  item: e.item && {
    ...e.item,
    purchase_price: fromTiyn(e.item.purchase_price ?? 0),
    sell_price: fromTiyn(e.item.sell_price ?? 0),
    ...(typeof e.item.discount_sum === 'number'
      ? { discount_sum: fromTiyn(e.item.discount_sum) }
      : {}),
    ...(typeof e.item.markup_sum === 'number' ? { markup_sum: fromTiyn(e.item.markup_sum) } : {}),
  },
});

/** A catalogue entry has no id of ours: a numeric barcode is its own, else 0. */
const catalogueId = (barcode: string): number =>
  /^[0-9]{1,15}$/.test(barcode) ? Number(barcode) : 0;

export async function barcodeLookup(ctx: CommandContext, barcode: string): Promise<Outcome> {
  const latest = await ctx.registry.latestNomenclature(ctx.state.orgId);
  const version = latest?.version ?? 0;
  const own = (latest?.elements as StoredElement[] | undefined)?.find(
    (e) => e.item?.barcode === barcode,
  );
  const answer = (
    code: number,
    nomenclature: { result: number; elements?: unknown[] },
    text?: string,
  ): Outcome => ({
    kind: 'answer',
    state: ctx.state,
    response: {
      command: Command.COMMAND_NOMENCLATURE,
      result: text === undefined ? { result_code: code } : { result_code: code, result_text: text },
      nomenclature: { version, ...nomenclature } as INomenclatureResponse,
    },
  });
  if (own) {
    return answer(ResultCode.RESULT_TYPE_OK, {
      result: NomenclatureResult.RESULT_TYPE_OK,
      elements: [wireElement(own)],
    });
  }
  const entry = await ctx.catalogue.find(barcode);
  if (entry) {
    return answer(ResultCode.RESULT_TYPE_OK, {
      result: NomenclatureResult.RESULT_TYPE_OK,
      elements: [
        {
          type: ITEM,
          id: catalogueId(barcode),
          title: entry.nameRu,
          title_kk: entry.nameKk,
          item: { barcode: entry.barcode, ntin: entry.ntin },
        },
      ],
    });
  }
  return answer(
    ResultCode.RESULT_TYPE_ELEMENT_NOT_FOUND_BY_BARCODE,
    { result: NomenclatureResult.RESULT_TYPE_ELEMENT_NOT_FOUND_BY_BARCODE },
    // The device's barcode is echoed cut short: it may be arbitrarily long.
    `barcode ${barcode.slice(0, 64)} is in neither the nomenclature nor the national catalogue`,
  );
}
