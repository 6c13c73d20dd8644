// The organization's requisites as registration and the card's edit both ask them: the head
// (position, name) and the bank (BIK, IIK), each with the API's refusal under it.
import { useT } from '../i18n';
import { Field } from './ui';

export interface Requisites {
  headPosition: string;
  headName: string;
  bik: string;
  iik: string;
}

export function RequisiteFields<F extends Requisites>({
  value,
  set,
  errorAt,
}: {
  value: F;
  set(k: keyof Requisites): (v: string) => void;
  /** The refusal's words for these API fields, if it names one of them. */
  errorAt(...fields: string[]): string | null;
}) {
  const t = useT();
  return (
    <>
      <Field
        label={t.registration.headPosition}
        value={value.headPosition}
        onInput={set('headPosition')}
        error={errorAt('head/position')}
      />
      <Field
        label={t.registration.headName}
        value={value.headName}
        onInput={set('headName')}
        error={errorAt('head/name', 'head')}
      />
      <Field
        label={t.registration.bik}
        value={value.bik}
        onInput={set('bik')}
        error={errorAt('bank/bik', 'bank')}
      />
      <Field
        label={t.registration.iik}
        value={value.iik}
        onInput={set('iik')}
        error={errorAt('bank/iik')}
      />
    </>
  );
}
