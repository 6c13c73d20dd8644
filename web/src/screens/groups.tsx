// Группы (manual §14): groups grant points of sale and modules to their members.
import { useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
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
import { MODULES } from './users';

type Module = (typeof MODULES)[number];

export function GroupsScreen({ me }: { me: Me }) {
  const t = useT();
  const groups = useLoad(async () => {
    const { data, error, response } = await api.GET('/api/v1/groups');
    return { data: data?.items, error: error ? errorText(error, response) : null };
  }, []);
  const lookups = useLoad(async () => {
    const [points, users] = await Promise.all([loadPoints(), api.GET('/api/v1/users')]);
    return { data: { points: points.data ?? [], users: users.data?.items ?? [] } };
  }, []);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [modules, setModules] = useState<Module[]>([]);
  const [pointIds, setPointIds] = useState<number[]>([]);
  const [memberIds, setMemberIds] = useState<number[]>([]);
  const pointTitle = new Map((lookups.data?.points ?? []).map((p) => [p.id, p.title]));
  const userLogin = new Map((lookups.data?.users ?? []).map((u) => [u.id, u.login]));
  const submit = async (e: Event) => {
    e.preventDefault();
    const { data, error, response } = await api.POST('/api/v1/groups', {
      body: { name, permissions: modules, pointIds, memberIds },
    });
    if (!data) return setError(errorText(error, response));
    setError(null);
    setName('');
    setCreated(fmt(t.groups.created, { name: data.name }));
    groups.reload();
  };
  const remove = async (id: number) => {
    const { error, response } = await api.DELETE('/api/v1/groups/{id}', {
      params: { path: { id } },
    });
    setError(error ? errorText(error, response) : null);
    groups.reload();
  };
  return (
    <Screen title={t.groups.title}>
      <Loading loaded={groups} />
      {groups.data && (
        <DataTable
          caption={t.groups.caption}
          rows={groups.data}
          rowKey={(g) => g.id}
          columns={[
            { header: t.groups.name, cell: (g) => g.name },
            {
              header: t.users.modules,
              cell: (g) => g.permissions.map((p) => t.modules[p] ?? p).join(', '),
            },
            {
              header: t.users.points,
              cell: (g) => g.pointIds.map((id) => pointTitle.get(id) ?? id).join(', '),
            },
            {
              header: t.groups.members,
              cell: (g) => g.memberIds.map((id) => userLogin.get(id) ?? id).join(', '),
            },
            {
              header: t.delete,
              headerHidden: true,
              cell: (g) => (
                <button
                  type="button"
                  onClick={() => remove(g.id)}
                  aria-label={fmt(t.groups.deleteGroup, { name: g.name })}
                >
                  {t.delete}
                </button>
              ),
            },
          ]}
        />
      )}
      {lookups.data && (
        <form class="card" onSubmit={submit} aria-labelledby="new-group">
          <h2 id="new-group">{t.groups.new}</h2>
          <Field label={t.groups.name} value={name} onInput={setName} required />
          <Checklist
            legend={t.users.modules}
            options={MODULES.filter((m) => me.permissions.includes(m)).map((m) => ({
              value: m,
              label: t.modules[m] ?? m,
            }))}
            selected={modules}
            onChange={setModules}
          />
          <Checklist
            legend={t.users.points}
            options={lookups.data.points.map((p) => ({ value: p.id, label: p.title }))}
            selected={pointIds}
            onChange={setPointIds}
          />
          <Checklist
            legend={t.groups.members}
            options={lookups.data.users
              .filter((u) => u.role !== 'owner')
              .map((u) => ({ value: u.id, label: `${u.login} (${u.name})` }))}
            selected={memberIds}
            onChange={setMemberIds}
          />
          <ErrorMessage message={error} />
          {created && <Notice>{created}</Notice>}
          <button type="submit">{t.add}</button>
        </form>
      )}
    </Screen>
  );
}
