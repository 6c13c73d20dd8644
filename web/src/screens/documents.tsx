// Документы (manual §15): the organization's applications (registration, re-registration,
// deregistration, wired VPN) with their status, found by KKM ID and/or type
// (GET /api/v1/documents), each downloadable as a file.
import { useState } from 'preact/hooks';
import { api, download, refusal, type paths } from '../api/client';
import { useT } from '../i18n';
import { instant } from '../lib/format';
import { DataTable, ErrorMessage, Field, Loading, Screen, Select, useLoad } from '../lib/ui';

type Query = NonNullable<paths['/api/v1/documents']['get']['parameters']['query']>;
type Kind = NonNullable<Query['type']>;
const KINDS: Kind[] = ['registration', 'reregistration', 'deregistration', 'vpn'];

export function DocumentsScreen() {
  const t = useT();
  const [kkmId, setKkmId] = useState('');
  const [type, setType] = useState<Kind | ''>('');
  const [query, setQuery] = useState<Query>({});
  const [fileError, setFileError] = useState<{ id: number; text: string } | null>(null);
  const [kkmIdError, setKkmIdError] = useState<string | null>(null);
  const docs = useLoad(async () => {
    const { data, error, response } = await api.GET('/api/v1/documents', {
      params: { query },
    });
    // A KKM ID the server refuses is said under the field; any other refusal above the list.
    const refused = error ? refusal(error, response) : null;
    setKkmIdError(refused?.field === 'kkmId' ? refused.text : null);
    return { data: data?.items, error: refused?.field === 'kkmId' ? null : refused?.text };
  }, [JSON.stringify(query)]);
  const search = (e: Event) => {
    e.preventDefault();
    setQuery({
      ...(kkmId ? { kkmId: Number(kkmId) } : {}),
      ...(type ? { type } : {}),
    });
  };
  return (
    <Screen title={t.documents.title}>
      <form class="filter" onSubmit={search}>
        <div class="row">
          <Field
            label={t.documents.kkmId}
            value={kkmId}
            onInput={setKkmId}
            inputMode="numeric"
            error={kkmIdError}
          />
          <Select<Kind | ''>
            label={t.documents.type}
            value={type}
            options={[
              { value: '' as const, label: t.documents.all },
              ...KINDS.map((k) => ({ value: k, label: t.documents.types[k] ?? k })),
            ]}
            onChange={setType}
          />
        </div>
        <button type="submit">{t.show}</button>
      </form>
      <Loading loaded={docs} />
      {docs.data && docs.data.length === 0 && <p>{t.documents.empty}</p>}
      {docs.data && docs.data.length > 0 && (
        <DataTable
          caption={t.documents.caption}
          rows={docs.data}
          rowKey={(d) => d.id}
          columns={[
            { header: t.documents.name, cell: (d) => t.documents.types[d.type] ?? d.title },
            { header: t.documents.kkmId, cell: (d) => d.kkmId ?? t.none },
            { header: t.documents.date, cell: (d) => instant(d.createdAt) },
            {
              header: t.documents.status,
              cell: (d) => t.documents.statuses[d.status] ?? d.status,
            },
            {
              header: t.documents.file,
              cell: (d) => (
                <>
                  <button
                    type="button"
                    aria-label={`${t.documents.download}: ${t.documents.types[d.type] ?? d.title} № ${d.id}`}
                    onClick={async () => {
                      const text = await download(
                        `/api/v1/documents/${d.id}/file`,
                        `application-${d.id}.json`,
                      );
                      setFileError(text ? { id: d.id, text } : null);
                    }}
                  >
                    {t.documents.download}
                  </button>
                  {fileError?.id === d.id && <ErrorMessage message={fileError.text} />}
                </>
              ),
            },
          ]}
        />
      )}
    </Screen>
  );
}
