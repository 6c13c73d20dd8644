// Пользователи (manual §13): the organization's users with their points, modules and groups;
// adding one (e-mail, name, login, password twice, modules, points, groups); editing one's name,
// e-mail, access and, when typed, password (PUT; the owner and oneself are not edited here);
// deleting.
import { useState } from 'preact/hooks';
import { api, errorText, type Json } from '../api/client';
import type { Me } from '../app';
import { fmt, useT } from '../i18n';
import { FormButtons, FormTitle, Grants, RowActions, fieldRefusal, type Module } from '../lib/edit';
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
  const [editing, setEditing] = useState<User | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
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
              cell: (u) =>
                u.role !== 'owner' && u.id !== me.userId ? (
                  <RowActions
                    editLabel={fmt(t.users.editUser, { login: u.login })}
                    deleteLabel={fmt(t.users.deleteUser, { login: u.login })}
                    onEdit={() => {
                      setSaved(null);
                      setEditing(u);
                    }}
                    onDelete={() => remove(u.id)}
                    error={deleteError?.id === u.id ? deleteError.text : null}
                  />
                ) : null,
            },
          ]}
        />
      )}
      {saved && <Notice>{saved}</Notice>}
      {lookups.data && editing && (
        <UserForm
          key={editing.id}
          user={editing}
          points={lookups.data.points}
          groups={lookups.data.groups}
          me={me}
          onDone={(changed) => {
            setEditing(null);
            if (!changed) return;
            setSaved(fmt(t.users.saved, { login: changed.login }));
            users.reload();
          }}
        />
      )}
      {lookups.data && !editing && (
        <UserForm
          points={lookups.data.points}
          groups={lookups.data.groups}
          me={me}
          onDone={users.reload}
        />
      )}
    </Screen>
  );
}

type User = Json<'/api/v1/users', 'get'>['items'][number];

/** The new user's form, or, given `user`, its edit (PUT: name, e-mail, modules, points, groups). */
function UserForm({
  user,
  points,
  groups,
  me,
  onDone,
}: {
  user?: User;
  points: { id: number; title: string }[];
  groups: { id: number; name: string }[];
  me: Me;
  onDone(saved?: User): void;
}) {
  const t = useT();
  const empty = {
    login: '',
    name: user?.name ?? '',
    email: user?.email ?? '',
    password: '',
    password2: '',
  };
  const [form, setForm] = useState(empty);
  const [modules, setModules] = useState<Module[]>(
    (user?.permissions as Module[] | undefined) ?? ['transactions', 'reports'],
  );
  const [pointIds, setPointIds] = useState<number[]>(user?.pointIds ?? []);
  const [groupIds, setGroupIds] = useState<number[]>(user?.groupIds ?? []);
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
    const access = { name: form.name, email: form.email, permissions: modules, pointIds, groupIds };
    // An edit changes the password only when a new one is typed (its sessions then end).
    const newPassword = form.password ? { password: form.password } : {};
    const { data, error, response } = user
      ? await api.PUT('/api/v1/users/{id}', {
          params: { path: { id: user.id } },
          body: { ...access, ...newPassword },
        })
      : await api.POST('/api/v1/users', {
          body: { ...access, login: form.login, password: form.password },
        });
    if (!data) return setError(fieldRefusal(error, response));
    setError(null);
    if (user) return onDone(data);
    setForm(empty);
    setCreated(fmt(t.users.created, { login: data.login }));
    onDone();
  };
  const titleId = user ? 'edit-user' : 'new-user';
  return (
    <form class="card" onSubmit={submit} aria-labelledby={titleId}>
      <FormTitle id={titleId} editing={user?.id}>
        {user ? fmt(t.users.editTitle, { login: user.login }) : t.users.new}
      </FormTitle>
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
        {!user && (
          <Field
            label={t.users.login}
            value={form.login}
            onInput={set('login')}
            required
            autoComplete="off"
            error={errorAt('login')}
          />
        )}
        <Field
          label={t.users.password}
          type="password"
          value={form.password}
          onInput={set('password')}
          required={!user}
          autoComplete="new-password"
          hint={
            user
              ? fmt(t.users.passwordKept, { rule: t.registration.passwordRule })
              : t.registration.passwordRule
          }
          error={errorAt('password')}
        />
        <Field
          label={t.users.password2}
          type="password"
          value={form.password2}
          onInput={set('password2')}
          required={!user || Boolean(form.password)}
          autoComplete="new-password"
          error={errorAt('password2')}
        />
      </div>
      <Grants
        me={me}
        points={points}
        modules={modules}
        onModules={setModules}
        pointIds={pointIds}
        onPoints={setPointIds}
        errorAt={errorAt}
      />
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
      <FormButtons editing={Boolean(user)} onCancel={() => onDone()} />
    </form>
  );
}
