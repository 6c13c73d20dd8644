// The protocol's enumerations by number, as report.proto and the API name them.
export const OPERATION_NAMES = ['buy', 'buy_return', 'sell', 'sell_return'] as const;
/** Sales first, as the cabinet's reports list them. */
export const OPERATION_ORDER = [2, 3, 0, 1] as const;
export const PAYMENT_NAMES = ['cash', 'card', 'credit', 'tare', 'mobile'] as const;
