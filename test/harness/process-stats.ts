// CPU, memory and file descriptors of a server process and its descendants, read from /proc
// (Linux), like pidusage without the dependency: benches sample the server while they load it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

export interface ProcessSample {
  /** CPU seconds (user + system) used since the process started. */
  cpuSeconds: number;
  rssBytes: number;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The process and its descendants (the server's ingest processes), from /proc. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
        const children = readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
        if (children) out.push(...children.split(' ').map(Number));
      }
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** The server's ingest processes (node children; tsx's esbuild service is a child too). */
export function ingestProcessPids(pid: number): number[] {
  return processTree(pid)
    .slice(1)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node';
      } catch {
        return false;
      }
    });
}

/** CPU and RSS of a process and its descendants, summed. */
export function sampleTree(pid: number): ProcessSample {
  let cpuSeconds = 0;
  let rssBytes = 0;
  for (const p of processTree(pid)) {
    try {
      const s = sampleProcess(p);
      cpuSeconds += s.cpuSeconds;
      rssBytes += s.rssBytes;
    } catch {
      // ended meanwhile
    }
  }
  return { cpuSeconds, rssBytes };
}

/** CPU and RSS of a process from /proc (Linux), like pidusage without the dependency. */
export function sampleProcess(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: (utime + stime) / CLK_TCK, rssBytes: rssKb * 1024 };
}

/**
 * CPU seconds by thread group: `main` (the JavaScript thread), `libuv` (its worker pool), the
 * V8 helpers, and the embedded ClickHouse's pools under their own names; the server's ingest
 * processes, if any, as `ingest` (all their threads).
 */
export function sampleThreads(pid: number): Record<string, number> {
  const out = threadGroups(pid);
  for (const child of ingestProcessPids(pid)) {
    try {
      out.ingest = (out.ingest ?? 0) + sampleProcess(child).cpuSeconds;
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

function threadGroups(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      const group =
        tid === String(pid)
          ? 'main'
          : comm.startsWith('libuv')
            ? 'libuv'
            : comm.startsWith('V8') || comm === 'node'
              ? 'v8/node'
              : comm;
      out[group] = (out[group] ?? 0) + cpu;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export function fdLimitOf(pid: number): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 1024);
}

/** CPU seconds the Redis server has used (INFO cpu), to show its share of the machine. */
export async function redisCpuSeconds(url: string): Promise<number | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('cpu');
    const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return get('used_cpu_sys') + get('used_cpu_user');
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat), to see what else was running. */
export function machineCpu(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}
