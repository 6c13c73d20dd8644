// An address in parts, as the self-service routes take it (region, locality, street, house,
// building, flat).
import { useT } from '../i18n';
import { Field } from './ui';

export const ADDRESS_PARTS = ['region', 'locality', 'street', 'house', 'building', 'flat'] as const;
export type Address = Record<(typeof ADDRESS_PARTS)[number], string>;
export const emptyAddress = (): Address => ({
  region: '',
  locality: '',
  street: '',
  house: '',
  building: '',
  flat: '',
});

export const addressText = (a: Partial<Address> | string | undefined) =>
  typeof a === 'string'
    ? a
    : ADDRESS_PARTS.map((p) => a?.[p])
        .filter(Boolean)
        .join(', ');

export function AddressFields({
  legend,
  value,
  onChange,
  errorAt,
  required: partsRequired = true,
}: {
  legend: string;
  value: Address;
  onChange(a: Address): void;
  /** The API's refusal of a part, in words, shown under it. */
  errorAt?(part: (typeof ADDRESS_PARTS)[number]): string | null;
  /** Whether the address must be given (its region, locality, street and house). */
  required?: boolean;
}) {
  const t = useT();
  const required = new Set(['region', 'locality', 'street', 'house']);
  return (
    <fieldset class="grid">
      <legend>{legend}</legend>
      {ADDRESS_PARTS.map((p) => (
        <Field
          key={p}
          label={t.address[p]}
          value={value[p]}
          required={partsRequired && required.has(p)}
          error={errorAt?.(p)}
          onInput={(v) => onChange({ ...value, [p]: v })}
        />
      ))}
    </fieldset>
  );
}
