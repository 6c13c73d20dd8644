// Text renderings of phase results, shared by the fleet CLI and the standard run.
import {
  RESULT_NAMES,
  type PhaseResult,
  type PhaseStats,
  type VerifyResult,
} from '../../test/harness/index.js';

export const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Server CPU milliseconds spent per acknowledged receipt (robust to a busy machine). */
export const cpuPerReceipt = (r: PhaseResult): number | null =>
  r.serverCpuPct === null || r.receiptsPerSec === 0
    ? null
    : (r.serverCpuPct * 10) / r.receiptsPerSec;

export function codesText(stats: PhaseStats): string {
  const parts: string[] = [];
  for (const [code, n] of Object.entries(stats.codes).sort((a, b) => Number(a[0]) - Number(b[0]))) {
    if (code === '0') continue;
    parts.push(`${RESULT_NAMES[Number(code)] ?? code}: ${n}`);
  }
  for (const [message, n] of stats.transportErrors) parts.push(`${message}: ${n}`);
  return parts.length ? parts.join(', ') : 'none';
}

export function phaseText(r: PhaseResult): string {
  const s = r.stats;
  const lines = [
    `${r.name}: ${r.devices} registers, ${r.mode}, ${r.loop} loop${r.offeredRate ? ` at ${fmt(r.offeredRate)} receipts/s offered` : ''}, ${r.seconds} s measured`,
    `  receipts/s ${fmt(r.receiptsPerSec)}  (answers/s ${fmt(r.answersPerSec)}; ${fmt(s.acked)} receipts, ${fmt(s.documents)} documents)`,
    `  answer latency ms: p50 ${fmt(r.p50Ms, 1)}  p99 ${fmt(r.p99Ms, 1)}  p999 ${fmt(r.p999Ms, 1)}  max ${fmt(r.maxMs, 1)}`,
    `  errors: ${codesText(s)}${r.notSent ? `; ${fmt(r.notSent)} due receipts never found a free register` : ''}`,
    `  retries: ${s.lostAnswers} lost answers resent (${s.resendIdentical} identical, ${s.resendDifferent} differing), ${s.resends} resends after 254/transport errors, ${s.retried} requests retried, ${s.gaveUp} given up`,
    `  offline bursts ${s.offlineBursts} (${s.offlineReceipts} receipts), shifts closed ${s.shiftsClosed}, Z mismatches ${s.zMismatches}, Z report differences ${s.reportDiffs}`,
    `  CPU: server ${fmt(r.serverCpuPct)}% (${fmt(cpuPerReceipt(r), 3)} ms per receipt), redis ${fmt(r.redisCpuPct)}%, simulator ${fmt(r.clientCpuPct)}%, other work on the machine ${fmt(r.otherCpuPct)}%; server RSS ${fmt(r.serverRssMb)} MiB (peak ${fmt(r.serverRssPeakMb)})`,
  ];
  const threads = Object.entries(r.serverThreadsPct).sort((a, b) => b[1] - a[1]);
  if (threads.length) {
    lines.push(`  server threads: ${threads.map(([g, p]) => `${g} ${fmt(p)}%`).join(', ')}`);
  }
  return lines.join('\n');
}

export function verifyText(v: VerifyResult): string {
  const ok =
    v.mismatchedDevices === 0 && v.zMismatches === 0 && v.resendDifferent === 0 ? 'OK' : 'FAILED';
  const lines = [
    `verify ${ok}: ${fmt(v.acknowledged)} receipts acknowledged, ${fmt(v.stored)} counted by the servers' Z reports; ${v.mismatchedDevices} of ${v.devices} registers differ; ${v.zMismatches} shift Z mismatches; ${v.reportDiffs} Z report differences; ${v.resendDifferent} retried answers that differed`,
  ];
  for (const n of v.notes.slice(0, 10)) lines.push(`  ${n}`);
  return lines.join('\n');
}
