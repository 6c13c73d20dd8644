// "За смену" or "за период": the search of a KKM's receipts and reports (manual §9.1, §10.1).
import { useState } from 'preact/hooks';
import { useT } from '../i18n';
import { addDays, today } from './format';
import { Field } from './ui';

export type DocFilter = { shift: number } | { from: string; to: string };

export function DocumentFilterForm({
  initialShift,
  submitLabel,
  onSubmit,
  error,
  periodOnly = false,
}: {
  initialShift?: number;
  periodOnly?: boolean;
  submitLabel: string;
  onSubmit(filter: DocFilter): void;
  error?: string | null;
}) {
  const t = useT();
  const [mode, setMode] = useState<'shift' | 'period'>(
    initialShift && !periodOnly ? 'shift' : 'period',
  );
  const [shift, setShift] = useState(initialShift ? String(initialShift) : '');
  const [from, setFrom] = useState(addDays(today(), -6));
  const [to, setTo] = useState(today());
  const submit = (e: Event) => {
    e.preventDefault();
    onSubmit(mode === 'shift' ? { shift: Number(shift) } : { from, to });
  };
  return (
    <form class="filter" onSubmit={submit}>
      {!periodOnly && (
        <fieldset class="tabs">
          <legend>{t.kkm.searchBy}</legend>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === 'shift'}
              onChange={() => setMode('shift')}
            />{' '}
            {t.kkm.byShift}
          </label>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === 'period'}
              onChange={() => setMode('period')}
            />{' '}
            {t.kkm.byPeriod}
          </label>
        </fieldset>
      )}
      {mode === 'shift' ? (
        <Field
          label={t.kkm.shift}
          type="number"
          min={1}
          value={shift}
          onInput={setShift}
          required
          error={error}
        />
      ) : (
        <div class="row">
          <Field label={t.kkm.from} type="date" value={from} onInput={setFrom} required />
          <Field label={t.kkm.to} type="date" value={to} onInput={setTo} required error={error} />
        </div>
      )}
      <button type="submit">{submitLabel}</button>
    </form>
  );
}
