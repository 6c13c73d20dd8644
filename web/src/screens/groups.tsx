// Группы (manual §14): groups grant points of sale and modules to their members; a group is
// added, edited (its name, modules, points and members: PUT) and deleted.
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
type Group = Json<'/api/v1/groups', 'get'>['items'][number];

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
  const [editing, setEditing] = useState<Group | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const pointTitle = new Map((lookups.data?.points ?? []).map((p) => [p.id, p.title]));
  const userLogin = new Map((lookups.data?.users ?? []).map((u) => [u.id, u.login]));
  const remove = async (id: number) => {
    const { error, response } = await api.DELETE('/api/v1/groups/{id}', {
      params: { path: { id } },
    });
    setError(error ? errorText(error, response) : null);
    groups.reload();
  };
  const form = (group?: Group) =>
    lookups.data && (
      <GroupForm
        key={group?.id ?? 'new'}
        group={group}
        me={me}
        points={lookups.data.points}
        users={lookups.data.users.filter((u) => u.role !== 'owner')}
        onDone={(changed) => {
          setEditing(null);
          if (changed && group) setSaved(fmt(t.groups.saved, { name: changed.name }));
          if (changed) groups.reload();
        }}
      />
    );
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
                <RowActions
                  editLabel={fmt(t.groups.editGroup, { name: g.name })}
                  deleteLabel={fmt(t.groups.deleteGroup, { name: g.name })}
                  onEdit={() => {
                    setSaved(null);
                    setEditing(g);
                  }}
                  onDelete={() => remove(g.id)}
                />
              ),
            },
          ]}
        />
      )}
      <ErrorMessage message={error} />
      {saved && <Notice>{saved}</Notice>}
      {editing ? form(editing) : form()}
    </Screen>
  );
}

/** The new group's form, or, given `group`, its edit (PUT). A refusal goes under its field. */
function GroupForm({
  group,
  me,
  points,
  users,
  onDone,
}: {
  group?: Group;
  me: Me;
  points: { id: number; title: string }[];
  users: { id: number; login: string; name: string }[];
  onDone(changed?: Group): void;
}) {
  const t = useT();
  const [name, setName] = useState(group?.name ?? '');
  const [modules, setModules] = useState<Module[]>((group?.permissions as Module[]) ?? []);
  const [pointIds, setPointIds] = useState<number[]>(group?.pointIds ?? []);
  const [memberIds, setMemberIds] = useState<number[]>(group?.memberIds ?? []);
  const [error, setError] = useState<{ field: string; text: string } | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const errorAt = (field: string) => (error?.field === field ? error.text : null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setCreated(null);
    const body = { name, permissions: modules, pointIds, memberIds };
    const { data, error, response } = group
      ? await api.PUT('/api/v1/groups/{id}', { params: { path: { id: group.id } }, body })
      : await api.POST('/api/v1/groups', { body });
    if (!data) return setError(fieldRefusal(error, response));
    setError(null);
    if (!group) {
      setName('');
      setCreated(fmt(t.groups.created, { name: data.name }));
    }
    onDone(data);
  };
  const titleId = group ? 'edit-group' : 'new-group';
  return (
    <form class="card" onSubmit={submit} aria-labelledby={titleId}>
      <FormTitle id={titleId} editing={group?.id}>
        {group ? fmt(t.groups.editTitle, { name: group.name }) : t.groups.new}
      </FormTitle>
      <Field
        label={t.groups.name}
        value={name}
        onInput={setName}
        required
        error={errorAt('name')}
      />
      <Grants
        me={me}
        points={points}
        modules={modules}
        onModules={setModules}
        pointIds={pointIds}
        onPoints={setPointIds}
        errorAt={errorAt}
      />
      <Checklist
        legend={t.groups.members}
        options={users.map((u) => ({ value: u.id, label: `${u.login} (${u.name})` }))}
        selected={memberIds}
        onChange={setMemberIds}
      />
      <ErrorMessage message={errorAt('memberIds') ?? errorAt('form')} />
      {created && <Notice>{created}</Notice>}
      <FormButtons editing={Boolean(group)} onCancel={() => onDone()} />
    </form>
  );
}
