// How many exports an organization may have queued or running at once: a year-long export is
// heavy, and thirty of them at once would hold the workers and the disk for everyone else.
// Counting and queueing happen under one lock per organization, so concurrent requests of one
// API process cannot all slip under the limit (separate API processes may each admit one more).
import type { Queue } from 'bullmq';
import type { ExportJobData, ExportResult } from '../../jobs/queues.js';

const UNFINISHED = ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children'];

export class ExportQuota {
  private readonly locks = new Map<number, Promise<unknown>>();

  constructor(
    private readonly queue: Queue<ExportJobData, ExportResult>,
    readonly perOrg: number,
  ) {}

  /** Runs `add` if the organization is under its quota; false (nothing added) if not. */
  async admit(orgId: number, add: () => Promise<unknown>): Promise<boolean> {
    const previous = this.locks.get(orgId) ?? Promise.resolve();
    const turn = previous.then(async () => {
      if ((await this.unfinished(orgId)) >= this.perOrg) return false;
      await add();
      return true;
    });
    const settled = turn.catch(() => {});
    this.locks.set(orgId, settled);
    void settled.then(() => {
      if (this.locks.get(orgId) === settled) this.locks.delete(orgId);
    });
    return turn;
  }

  private async unfinished(orgId: number): Promise<number> {
    const jobs = await this.queue.getJobs(UNFINISHED as never);
    return jobs.filter((j) => j?.data.orgId === orgId).length;
  }
}
