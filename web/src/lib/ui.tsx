// Controls every screen shares: a labelled field with its error beside it, a list of
// checkboxes in a fieldset, the loading of a screen's data, and an error in words.
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useId, useState } from 'preact/hooks';
import { useT } from '../i18n';
import { LanguageSwitch } from './language-switch';

/** An error the server gave, announced to screen readers, beside what caused it. */
export function ErrorMessage({ message, id }: { message: string | null | undefined; id?: string }) {
  if (!message) return null;
  return (
    <p class="error" role="alert" id={id}>
      {message}
    </p>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'label' | 'onInput' | 'value'> & {
  label: string;
  value: string;
  onInput(value: string): void;
  error?: string | null;
  hint?: string;
};

/** <label> + <input>, the error (aria-invalid, aria-describedby) right under it. */
export function Field({ label, value, onInput, error, hint, ...rest }: InputProps) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        onInput={(e) => onInput((e.target as HTMLInputElement).value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        {...rest}
      />
      {hint && (
        <small id={hintId} class="hint">
          {hint}
        </small>
      )}
      <ErrorMessage message={error} id={errorId} />
    </div>
  );
}

export function Select<V extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: V;
  options: { value: V; label: string }[];
  onChange(value: V): void;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select
        id={id}
        value={value}
        onChange={(e) => onChange((e.target as HTMLSelectElement).value as V)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Checkboxes in a fieldset with a legend: the cabinet's "Выбрать" lists. */
export function Checklist<V extends string | number>({
  legend,
  options,
  selected,
  onChange,
}: {
  legend: string;
  options: { value: V; label: string }[];
  selected: V[];
  onChange(selected: V[]): void;
}) {
  return (
    <fieldset class="checklist">
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={String(o.value)}>
          <input
            type="checkbox"
            checked={selected.includes(o.value)}
            onChange={(e) =>
              onChange(
                (e.target as HTMLInputElement).checked
                  ? [...selected, o.value]
                  : selected.filter((v) => v !== o.value),
              )
            }
          />{' '}
          {o.label}
        </label>
      ))}
    </fieldset>
  );
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when the deps change (and on reload); its error is kept as words. */
export function useLoad<T>(
  load: () => Promise<{ data?: T; error?: string | null }>,
  deps: unknown[],
): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (r) => live && setState({ data: r.data ?? null, error: r.error ?? null, loading: false }),
      (e: unknown) => live && setState({ data: null, error: String(e), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

export function Loading({ loaded }: { loaded: Loaded<unknown> }) {
  const t = useT();
  if (loaded.loading && !loaded.data) return <p aria-busy="true">{t.loading}</p>;
  return <ErrorMessage message={loaded.error} />;
}

/** A screen's title and body; the title is what a screen reader lands on. */
export function Screen({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{title}</h1>
      {children}
    </section>
  );
}

export interface Column<R> {
  header: string;
  /** Said to screen readers only (a column of buttons that name themselves). */
  headerHidden?: boolean;
  /** Right-aligned figures (money, counts). */
  numeric?: boolean;
  cell(row: R): ComponentChildren;
}

/**
 * A table with a caption and column headers; the first column heads its row. It scrolls in
 * its own box at a phone's width (focusable, so the keyboard can scroll it too).
 */
export function DataTable<R>({
  caption,
  captionHidden = false,
  columns,
  rows,
  rowKey,
}: {
  caption: string;
  captionHidden?: boolean;
  columns: Column<R>[];
  rows: R[];
  rowKey(row: R): string | number;
}) {
  const [first, ...rest] = columns;
  if (!first) return null;
  const numeric = (c: Column<R>) => (c.numeric ? 'n' : undefined);
  return (
    <div class="scroll" tabIndex={0}>
      <table>
        <caption class={captionHidden ? 'sr-only' : undefined}>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col" class={numeric(c)}>
                {c.headerHidden ? <span class="sr-only">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={rowKey(r)}>
              <th scope="row" class={numeric(first)}>
                {first.cell(r)}
              </th>
              {rest.map((c) => (
                <td key={c.header} class={numeric(c)}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The pages before a session (login, registration): the header with the language switch. */
export function PublicPage({ children }: { children: ComponentChildren }) {
  const t = useT();
  return (
    <main id="main" class="login">
      <header class="top">
        <span class="brand">{t.appTitle}</span>
        <LanguageSwitch />
      </header>
      {children}
    </main>
  );
}
