// Downloads of receipts and reports as archives (manual §9.2, §10.2): the export job is queued,
// its progress shown as a bar while it runs, then its zip fetched with the session and saved.
import { useEffect, useState } from 'preact/hooks';
import { api, download, errorText } from '../api/client';
import { fmt, useT } from '../i18n';
import type { DocFilter } from './filter';
import { ErrorMessage, Notice, Select } from './ui';

type Kind = 'tickets' | 'reports';

export function ExportArchive({
  kkmId,
  kind,
  filter,
}: {
  kkmId: number;
  kind: Kind;
  filter: DocFilter | null;
}) {
  const t = useT();
  const [format, setFormat] = useState<'csv' | 'json'>('csv');
  const [jobId, setJobId] = useState<string | null>(null);
  const [progress, setProgress] = useState(0);
  const [rows, setRows] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!jobId || rows !== null) return;
    const timer = setInterval(async () => {
      const { data, error, response } = await api.GET('/api/v1/exports/{jobId}', {
        params: { path: { jobId } },
      });
      if (!data) {
        setError(errorText(error, response));
        return clearInterval(timer);
      }
      setProgress(data.progress);
      if (data.state === 'completed') setRows(data.rows);
      if (data.state === 'failed') setError(fmt(t.exports.failed, { error: data.error }));
      if (data.state === 'completed' || data.state === 'failed') clearInterval(timer);
    }, 400);
    return () => clearInterval(timer);
  }, [jobId, rows]);
  const start = async () => {
    setError(null);
    setRows(null);
    setProgress(0);
    if (!filter) return setError(t.exports.needFilter);
    const { data, error, response } = await api.POST('/api/v1/exports', {
      body: { kkmId, kind, format, ...filter },
    });
    if (data) setJobId(data.jobId);
    else setError(errorText(error, response));
  };
  const save = async () => {
    if (!jobId) return;
    const problem = await download(`/api/v1/exports/${jobId}/file`, `${kind}-kkm${kkmId}.zip`);
    setError(problem);
  };
  const label = kind === 'tickets' ? t.exports.tickets : t.exports.reports;
  return (
    <div class="export" role="group" aria-label={label}>
      <Select<'csv' | 'json'>
        label={t.exports.format}
        value={format}
        options={[
          { value: 'csv', label: 'CSV' },
          { value: 'json', label: 'JSON' },
        ]}
        onChange={setFormat}
      />
      <button type="button" onClick={start}>
        {label}
      </button>
      {jobId && rows === null && !error && (
        <label class="progress">
          {t.exports.progress}{' '}
          <progress max={100} value={progress}>
            {progress}%
          </progress>{' '}
          {progress}%
        </label>
      )}
      {rows !== null && (
        <>
          <Notice>{fmt(t.exports.ready, { rows })}</Notice>
          <button type="button" onClick={save}>
            {t.exports.save}
          </button>
        </>
      )}
      <ErrorMessage message={error} />
    </div>
  );
}
