// ЦТО (manual §18): find a service centre by KKM model or name (GET /api/v1/service-centres)
// and ask it to serve chosen KKMs with chosen modules (POST /api/v1/service-centre-grants).
import { useState } from 'preact/hooks';
import { api, errorText, refusal, type Json, type paths, type Refusal } from '../api/client';
import { fmt, useT } from '../i18n';
import { DataTable, Checklist, ErrorMessage, Field, Notice, Screen, useLoad } from '../lib/ui';
import { kkmName } from './kkms';

type Centre = Json<'/api/v1/service-centres', 'get'>['items'][number];
type Module = NonNullable<
  paths['/api/v1/service-centre-grants']['post']['requestBody']
>['content']['application/json']['modules'][number];
const GRANTABLE: Module[] = ['transactions', 'reports', 'analytics', 'exports'];

export function ServiceCentresScreen() {
  const t = useT();
  const [model, setModel] = useState('');
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Centre[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<Centre | null>(null);
  const search = async (e: Event) => {
    e.preventDefault();
    const { data, error, response } = await api.GET('/api/v1/service-centres', {
      params: { query: { ...(model ? { model } : {}), ...(q ? { q } : {}) } },
    });
    if (data) setFound(data.items);
    setError(error ? errorText(error, response) : null);
  };
  return (
    <Screen title={t.serviceCentres.title}>
      <p class="hint">{t.serviceCentres.intro}</p>
      <form class="filter" onSubmit={search}>
        <div class="row">
          <Field label={t.serviceCentres.model} value={model} onInput={setModel} />
          <Field label={t.serviceCentres.search} value={q} onInput={setQ} />
        </div>
        <ErrorMessage message={error} />
        <button type="submit">{t.serviceCentres.find}</button>
      </form>
      {found && found.length === 0 && <p>{t.serviceCentres.empty}</p>}
      {found && found.length > 0 && (
        <DataTable
          caption={t.serviceCentres.caption}
          rows={found}
          rowKey={(c) => c.id}
          columns={[
            { header: t.serviceCentres.name, cell: (c) => c.title },
            { header: t.serviceCentres.bin, cell: (c) => c.bin },
            { header: t.serviceCentres.models, cell: (c) => c.models.join(', ') },
            {
              header: t.serviceCentres.request,
              headerHidden: true,
              cell: (c) => (
                <button type="button" onClick={() => setChosen(c)}>
                  {t.serviceCentres.request}
                </button>
              ),
            },
          ]}
        />
      )}
      {chosen && <GrantForm centre={chosen} />}
    </Screen>
  );
}

function GrantForm({ centre }: { centre: Centre }) {
  const t = useT();
  const kkms = useLoad(async () => ({ data: (await api.GET('/api/v1/kkms')).data?.items }), []);
  const [kkmIds, setKkmIds] = useState<number[]>([]);
  const [modules, setModules] = useState<Module[]>(['transactions', 'reports']);
  const [error, setError] = useState<Refusal | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const { data, error, response } = await api.POST('/api/v1/service-centre-grants', {
      body: { centreId: centre.id, kkmIds, modules },
    });
    if (data) {
      const status = t.serviceCentres.statuses[data.status] ?? data.status;
      setDone(fmt(t.serviceCentres.requested, { status }));
    }
    setError(error ? refusal(error, response) : null);
  };
  const errorAt = (field: string) => (error?.field === field ? error.text : null);
  return (
    <form class="card" onSubmit={submit} aria-labelledby="grant-title">
      <h2 id="grant-title">
        {t.serviceCentres.request}: {centre.title}
      </h2>
      <Checklist
        legend={t.serviceCentres.kkms}
        options={(kkms.data ?? [])
          .filter((k) => k.status !== 'deregistered')
          .map((k) => ({ value: k.id, label: kkmName(k) }))}
        selected={kkmIds}
        onChange={setKkmIds}
      />
      <ErrorMessage message={errorAt('kkmIds')} />
      <Checklist
        legend={t.serviceCentres.modules}
        options={GRANTABLE.map((m) => ({ value: m, label: t.modules[m] ?? m }))}
        selected={modules}
        onChange={setModules}
      />
      <ErrorMessage message={errorAt('modules')} />
      <ErrorMessage
        message={error && error.field !== 'kkmIds' && error.field !== 'modules' ? error.text : null}
      />
      {done && <Notice>{done}</Notice>}
      <button type="submit">{t.serviceCentres.request}</button>
    </form>
  );
}
