// Пользователи (manual §13): the organization's users with their points, modules and groups;
// adding one (e-mail, name, login, password twice, modules, points, groups) and deleting.
import { useState } from 'preact/hooks';
import { api, errorText, refusal } from '../api/client';
import type { Me } from '../app';
import { fmt, useT } from '../i18n';
import { loadPoints } from '../lib/points';
import {
  DataTable,
  Checklist,
  ErrorMessage,
  Field,
  Loading,
  Notice,
  Screen,
  useLoad,
} from '../lib/ui';

export const MODULES = [
  'transactions',
  'reports',
  'analytics',
  'exports',
  'users',
  'organization',
] as const;
type Module = (typeof MODULES)[number];

export function UsersScreen({ me }: { me: Me }) {
  const t = useT();
  const users = useLoad(async () => {
    const { data, error, response } = await api.GET('/api/v1/users');
    return { data: data?.items, error: error ? errorText(error, response) : null };
  }, []);
  const lookups = useLoad(async () => {
    const [points, groups] = await Promise.all([loadPoints(), api.GET('/api/v1/groups')]);
    return { data: { points: points.data ?? [], groups: groups.data?.items ?? [] } };
  }, []);
  const [deleteError, setDeleteError] = useState<{ id: number; text: string } | null>(null);
  const pointTitle = new Map((lookups.data?.points ?? []).map((p) => [p.id, p.title]));
  const groupName = new Map((lookups.data?.groups ?? []).map((g) => [g.id, g.name]));
  const remove = async (id: number) => {
    const { error, response } = await api.DELETE('/api/v1/users/{id}', {
      params: { path: { id } },
    });
    if (error || !response.ok) return setDeleteError({ id, text: errorText(error, response) });
    setDeleteError(null);
    users.reload();
  };
  return (
    <Screen title={t.users.title}>
      <Loading loaded={users} />
      {users.data && (
        <DataTable
          caption={t.users.caption}
          rows={users.data}
          rowKey={(u) => u.id}
          columns={[
            { header: t.users.login, cell: (u) => u.login },
            { header: t.users.name, cell: (u) => u.name },
            { header: t.users.email, cell: (u) => u.email },
            {
              header: t.users.role,
              cell: (u) => (u.role === 'owner' ? t.users.owner : t.users.user),
            },
            {
              header: t.users.points,
              cell: (u) =>
                u.role === 'owner'
                  ? t.users.allPoints
                  : u.effectivePointIds.map((id) => pointTitle.get(id) ?? id).join(', '),
            },
            {
              header: t.users.modules,
              cell: (u) => u.effectivePermissions.map((p) => t.modules[p] ?? p).join(', '),
            },
            {
              header: t.users.groups,
              cell: (u) => u.groupIds.map((id) => groupName.get(id) ?? id).join(', '),
            },
            {
              header: t.delete,
              headerHidden: true,
              cell: (u) => (
                <>
                  {u.role !== 'owner' && u.id !== me.userId && (
                    <button
                      type="button"
                      onClick={() => remove(u.id)}
                      aria-label={fmt(t.users.deleteUser, { login: u.login })}
                    >
                      {t.delete}
                    </button>
                  )}
                  {deleteError?.id === u.id && <ErrorMessage message={deleteError.text} />}
                </>
              ),
            },
          ]}
        />
      )}
      {lookups.data && (
        <NewUser
          points={lookups.data.points}
          groups={lookups.data.groups}
          me={me}
          onCreated={users.reload}
        />
      )}
    </Screen>
  );
}

function NewUser({
  points,
  groups,
  me,
  onCreated,
}: {
  points: { id: number; title: string }[];
  groups: { id: number; name: string }[];
  me: Me;
  onCreated(): void;
}) {
  const t = useT();
  const empty = { login: '', name: '', email: '', password: '', password2: '' };
  const [form, setForm] = useState(empty);
  const [modules, setModules] = useState<Module[]>(['transactions', 'reports']);
  const [pointIds, setPointIds] = useState<number[]>([]);
  const [groupIds, setGroupIds] = useState<number[]>([]);
  const [error, setError] = useState<{ field: string; text: string } | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  // The server names the field it refused (body/password): the words go under it.
  const errorAt = (field: string) => (error?.field === field ? error.text : null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setCreated(null);
    if (form.password !== form.password2)
      return setError({ field: 'password2', text: t.users.mismatch });
    const { data, error, response } = await api.POST('/api/v1/users', {
      body: {
        login: form.login,
        name: form.name,
        email: form.email,
        password: form.password,
        permissions: modules,
        pointIds,
        groupIds,
      },
    });
    if (!data) {
      const refused = refusal(error, response);
      return setError({ field: refused.field?.split('/')[0] ?? 'form', text: refused.text });
    }
    setError(null);
    setForm(empty);
    setCreated(fmt(t.users.created, { login: data.login }));
    onCreated();
  };
  const grantable = MODULES.filter((m) => me.permissions.includes(m));
  return (
    <form class="card" onSubmit={submit} aria-labelledby="new-user">
      <h2 id="new-user">{t.users.new}</h2>
      <div class="grid">
        <Field
          label={t.users.email}
          type="email"
          value={form.email}
          onInput={set('email')}
          required
          error={errorAt('email')}
        />
        <Field
          label={t.users.name}
          value={form.name}
          onInput={set('name')}
          required
          error={errorAt('name')}
        />
        <Field
          label={t.users.login}
          value={form.login}
          onInput={set('login')}
          required
          autoComplete="off"
          error={errorAt('login')}
        />
        <Field
          label={t.users.password}
          type="password"
          value={form.password}
          onInput={set('password')}
          required
          autoComplete="new-password"
          hint={t.registration.passwordRule}
          error={errorAt('password')}
        />
        <Field
          label={t.users.password2}
          type="password"
          value={form.password2}
          onInput={set('password2')}
          required
          autoComplete="new-password"
          error={errorAt('password2')}
        />
      </div>
      <Checklist
        legend={t.users.modules}
        options={grantable.map((m) => ({ value: m, label: t.modules[m] ?? m }))}
        selected={modules}
        onChange={setModules}
      />
      <ErrorMessage message={errorAt('permissions')} />
      <Checklist
        legend={t.users.points}
        options={points.map((p) => ({ value: p.id, label: p.title }))}
        selected={pointIds}
        onChange={setPointIds}
      />
      <ErrorMessage message={errorAt('pointIds')} />
      {groups.length > 0 && (
        <Checklist
          legend={t.users.groups}
          options={groups.map((g) => ({ value: g.id, label: g.name }))}
          selected={groupIds}
          onChange={setGroupIds}
        />
      )}
      <ErrorMessage message={errorAt('groupIds') ?? errorAt('form')} />
      {created && <Notice>{created}</Notice>}
      <button type="submit">{t.add}</button>
    </form>
  );
}
