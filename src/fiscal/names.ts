// The names documents, reports and the cabinet give protocol enum values, derived from the
// schema's own enum names (OPERATION_SELL_RETURN → 'sell_return'), so they are spelled once.
import { ItemType, MoneyPlacementType, Operation, PaymentType } from '../protocol/schema.js';

/** Lower-case value names of a protobuf enum without its prefix, indexed by value. */
function namesByValue(values: object, prefix: string): readonly string[] {
  const names: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'number') names[value] = key.slice(prefix.length).toLowerCase();
  }
  return Object.freeze(Array.from(names, (n) => n ?? ''));
}

/** 'buy', 'buy_return', 'sell', 'sell_return' by operation value. */
export const OPERATION_NAMES = namesByValue(Operation, 'OPERATION_');
/** 'cash', 'card', 'credit', 'tare', 'mobile' by payment type value. */
export const PAYMENT_NAMES = namesByValue(PaymentType, 'PAYMENT_');
/** 'deposit', 'withdrawal' by money placement value. */
export const PLACEMENT_NAMES = namesByValue(MoneyPlacementType, 'MONEY_PLACEMENT_');
/** 'commodity', 'storno_commodity', 'markup', … by item type value (0 is none). */
export const ITEM_TYPE_NAMES = namesByValue(ItemType, 'ITEM_TYPE_');

const named = (names: readonly string[], n: number) => names[n] || `unknown_${n}`;
export const operationName = (n: number) => named(OPERATION_NAMES, n);
export const paymentName = (n: number) => named(PAYMENT_NAMES, n);
export const placementName = (n: number) => named(PLACEMENT_NAMES, n);
export const itemTypeName = (n: number) => named(ITEM_TYPE_NAMES, n);
