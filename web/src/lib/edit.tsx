// What the screens that add and edit a record (users, groups, points of sale) share: the edit
// and delete buttons of a row, named for the record; the form's title, focused when an edit is
// opened from the list, so the keyboard lands on it; and Save/Cancel, or Add.
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { PERMISSIONS, type Permission } from '../../../src/access/permissions.js';
import { refusal } from '../api/client';
import type { Me } from '../app';
import { useT } from '../i18n';
import { Checklist, ErrorMessage } from './ui';

/** A cabinet module a user or a group is granted: the API's one catalogue (src/access). */
export type Module = Permission;

/** A refusal with the top field it names (`pointIds/0` → `pointIds`), else `form`. */
export function fieldRefusal(error: unknown, response: Response): { field: string; text: string } {
  const refused = refusal(error, response);
  return { field: refused.field?.split('/')[0] ?? 'form', text: refused.text };
}

/**
 * The modules (only those the manager has itself) and the points of sale granted, each list
 * with the API's refusal of it under it.
 */
export function Grants({
  me,
  points,
  modules,
  onModules,
  pointIds,
  onPoints,
  errorAt,
}: {
  me: Me;
  points: { id: number; title: string }[];
  modules: Module[];
  onModules(m: Module[]): void;
  pointIds: number[];
  onPoints(ids: number[]): void;
  errorAt(field: string): string | null;
}) {
  const t = useT();
  return (
    <>
      <Checklist
        legend={t.users.modules}
        options={PERMISSIONS.filter((m) => me.permissions.includes(m)).map((m) => ({
          value: m,
          label: t.modules[m] ?? m,
        }))}
        selected={modules}
        onChange={onModules}
      />
      <ErrorMessage message={errorAt('permissions')} />
      <Checklist
        legend={t.users.points}
        options={points.map((p) => ({ value: p.id, label: p.title }))}
        selected={pointIds}
        onChange={onPoints}
      />
      <ErrorMessage message={errorAt('pointIds')} />
    </>
  );
}

export function RowActions({
  editLabel,
  deleteLabel,
  onEdit,
  onDelete,
  error,
}: {
  editLabel: string;
  deleteLabel: string;
  onEdit(): void;
  onDelete(): void;
  error?: string | null;
}) {
  const t = useT();
  return (
    <>
      <button type="button" onClick={onEdit} aria-label={editLabel}>
        {t.edit}
      </button>{' '}
      <button type="button" onClick={onDelete} aria-label={deleteLabel}>
        {t.delete}
      </button>
      <ErrorMessage message={error} />
    </>
  );
}

/** The form's heading (its accessible name by `id`); focused when `editing` opens. */
export function FormTitle({
  id,
  editing,
  children,
}: {
  id: string;
  editing: string | number | undefined;
  children: ComponentChildren;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Before paint, so the form never shows without the focus (and a keyboard user's next Tab
  // starts from the heading).
  useLayoutEffect(() => {
    if (editing !== undefined) heading.current?.focus();
  }, [editing]);
  return (
    <h2 id={id} ref={heading} tabIndex={-1}>
      {children}
    </h2>
  );
}

/** Add (a new record) or Save and Cancel (an edit). */
export function FormButtons({ editing, onCancel }: { editing: boolean; onCancel(): void }) {
  const t = useT();
  if (!editing) return <button type="submit">{t.add}</button>;
  return (
    <>
      <button type="submit">{t.save}</button>{' '}
      <button type="button" onClick={onCancel}>
        {t.cancel}
      </button>
    </>
  );
}
