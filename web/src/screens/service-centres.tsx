// ЦТО (manual §18): find a service centre by KKM model or name and let it see chosen KKMs and
// modules. GET /api/v1/service-centres and POST /api/v1/service-centre-grants are self-service
// routes: without them the screen says so.
import { useState } from 'preact/hooks';
import { api, callUntyped } from '../api/client';
import { fmt, useT } from '../i18n';
import {
  DataTable,
  Checklist,
  ErrorMessage,
  Field,
  NotAvailable,
  Notice,
  Screen,
  useLoad,
} from '../lib/ui';
import { kkmName } from './kkms';

interface Centre {
  id: number;
  bin: string;
  title: string;
  models: string[];
}

const GRANTABLE = ['transactions', 'reports'] as const;

export function ServiceCentresScreen() {
  const t = useT();
  const [model, setModel] = useState('');
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Centre[] | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<Centre | null>(null);
  const search = async (e: Event) => {
    e.preventDefault();
    const query = new URLSearchParams({ model, q }).toString();
    const res = await callUntyped<{ items: Centre[] }>('GET', `/api/v1/service-centres?${query}`);
    if (res.ok) setFound(res.data.items);
    else if (res.status === 404) setMissing(true);
    else setError(res.message);
  };
  if (missing) {
    return (
      <Screen title={t.serviceCentres.title}>
        <NotAvailable />
      </Screen>
    );
  }
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
  const [modules, setModules] = useState<string[]>([...GRANTABLE]);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const res = await callUntyped<{ status: string }>('POST', '/api/v1/service-centre-grants', {
      centreId: centre.id,
      kkmIds,
      modules,
    });
    if (res.ok) setDone(fmt(t.serviceCentres.requested, { status: res.data.status }));
    setError(res.ok ? null : res.message);
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="grant-title">
      <h2 id="grant-title">
        {t.serviceCentres.request}: {centre.title}
      </h2>
      <Checklist
        legend={t.serviceCentres.kkms}
        options={(kkms.data ?? []).map((k) => ({ value: k.id, label: kkmName(k) }))}
        selected={kkmIds}
        onChange={setKkmIds}
      />
      <Checklist
        legend={t.serviceCentres.modules}
        options={GRANTABLE.map((m) => ({ value: m, label: t.modules[m] ?? m }))}
        selected={modules}
        onChange={setModules}
      />
      <ErrorMessage message={error} />
      {done && <Notice>{done}</Notice>}
      <button type="submit">{t.serviceCentres.request}</button>
    </form>
  );
}
