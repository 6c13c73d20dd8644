// Документы (manual §15): the organization's applications (registration, re-registration,
// deregistration, wired VPN) found by KKM ID and/or type. GET /api/v1/documents is a
// self-service route: without it the screen says so.
import { useState } from 'preact/hooks';
import { callUntyped, download } from '../api/client';
import { useT } from '../i18n';
import { instant } from '../lib/format';
import { DataTable, ErrorMessage, Field, NotAvailable, Screen, Select } from '../lib/ui';

interface Doc {
  id: number | string;
  type: string;
  kkmId?: number;
  status?: string;
  createdAt?: string;
  title?: string;
}

export function DocumentsScreen() {
  const t = useT();
  const [kkmId, setKkmId] = useState('');
  const [type, setType] = useState('');
  const [docs, setDocs] = useState<Doc[] | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const search = async (e?: Event) => {
    e?.preventDefault();
    const query = new URLSearchParams();
    if (kkmId) query.set('kkmId', kkmId);
    if (type) query.set('type', type);
    const res = await callUntyped<{ items: Doc[] }>('GET', `/api/v1/documents?${query}`);
    if (res.ok) setDocs(res.data.items);
    else if (res.status === 404 && !docs) setMissing(true);
    else setError(res.message);
  };
  if (missing) {
    return (
      <Screen title={t.documents.title}>
        <NotAvailable />
      </Screen>
    );
  }
  const types = Object.entries(t.documents.types).map(([value, label]) => ({ value, label }));
  return (
    <Screen title={t.documents.title}>
      <form class="filter" onSubmit={search}>
        <div class="row">
          <Field label={t.documents.kkmId} value={kkmId} onInput={setKkmId} inputMode="numeric" />
          <Select
            label={t.documents.type}
            value={type}
            options={[{ value: '', label: t.documents.all }, ...types]}
            onChange={setType}
          />
        </div>
        <ErrorMessage message={error} />
        <button type="submit">{t.show}</button>
      </form>
      {docs && docs.length === 0 && <p>{t.documents.empty}</p>}
      {docs && docs.length > 0 && (
        <DataTable
          caption={t.documents.caption}
          rows={docs}
          rowKey={(d) => d.id}
          columns={[
            {
              header: t.documents.name,
              cell: (d) => t.documents.types[d.type] ?? d.title ?? d.type,
            },
            { header: t.documents.kkmId, cell: (d) => d.kkmId ?? '' },
            { header: t.documents.date, cell: (d) => instant(d.createdAt) },
            { header: t.documents.status, cell: (d) => d.status ?? '' },
            {
              header: t.documents.file,
              cell: (d) => (
                <button
                  type="button"
                  onClick={async () =>
                    setError(await download(`/api/v1/documents/${d.id}/file`, `document-${d.id}`))
                  }
                >
                  {t.documents.download}
                </button>
              ),
            },
          ]}
        />
      )}
    </Screen>
  );
}
