// Prometheus metrics of the whole process, served at /metrics: ingest answers by command and
// result code, answer latency, group-commit batch sizes and flush times, open KKM connections,
// rows waiting for a commit, and HTTP latency per route.
import type { FastifyInstance } from 'fastify';
import client from 'prom-client';
import type { FlushStats } from '../storage/batch-writer.js';

const COMMANDS: Record<number, string> = {
  0: 'system',
  1: 'ticket',
  2: 'close_shift',
  3: 'report',
  4: 'nomenclature',
  5: 'info',
  6: 'money_placement',
  7: 'cancel_ticket',
  8: 'auth',
};

/** One process's metrics as `Registry.getMetricsAsJSON()` gives them (sent between processes). */
export type MetricsJson = client.MetricObjectWithValues<client.MetricValue<string>>[];

export class Metrics {
  readonly registry = new client.Registry();
  private readonly answers = new client.Counter({
    name: 'ofd_ingest_answers_total',
    help: 'KKM requests answered, by command and result code',
    labelNames: ['command', 'result'] as const,
    registers: [this.registry],
  });
  private readonly answerSeconds = new client.Histogram({
    name: 'ofd_ingest_answer_seconds',
    help: 'Time from a whole request frame to its answer',
    labelNames: ['command'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly batchRows = new client.Histogram({
    name: 'ofd_commit_batch_rows',
    help: 'Rows carried by one group commit',
    buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000],
    registers: [this.registry],
  });
  private readonly flushSeconds = new client.Histogram({
    name: 'ofd_commit_flush_seconds',
    help: 'Duration of one group commit',
    labelNames: ['ok'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 4],
    registers: [this.registry],
  });
  private readonly drainRows = new client.Histogram({
    name: 'ofd_spool_drain_rows',
    help: 'Rows carried by one drain of the spool into ClickHouse (OFD_SPOOL)',
    buckets: [10, 100, 500, 1000, 2500, 5000, 10000, 25000],
    registers: [this.registry],
  });
  private readonly drainSeconds = new client.Histogram({
    name: 'ofd_spool_drain_seconds',
    help: 'Duration of one drain of the spool',
    labelNames: ['ok'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly spoolBacklog = new client.Gauge({
    name: 'ofd_spool_backlog_rows',
    help: 'Rows acknowledged from the spool and not yet in ClickHouse',
    registers: [this.registry],
  });
  readonly connections = new client.Gauge({
    name: 'ofd_tcp_connections',
    help: 'Open KKM TCP connections',
    registers: [this.registry],
  });
  readonly pendingRows = new client.Gauge({
    name: 'ofd_commit_pending_rows',
    help: 'Rows waiting for a group commit',
    registers: [this.registry],
  });
  /** TCP connections a limit closed or refused: frame_deadline, idle_timeout, max_connections,
   * address_connections. */
  readonly limitClosed = new client.Counter({
    name: 'ofd_tcp_limit_closed_total',
    help: 'TCP connections closed or refused by a limit, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** KKM requests a rate limit refused (answered 254, or 429 over HTTP), by scope. */
  readonly rateLimited = new client.Counter({
    name: 'ofd_ingest_rate_limited_total',
    help: 'KKM requests refused by a rate limit, by scope (device, address or wrong_token)',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  /** Batched reads of the ingest path (rebuilds, INFO): queries, and the devices they served. */
  readonly batchedReads = new client.Counter({
    name: 'ofd_ingest_batched_reads_total',
    help: 'Queries of the batched ingest reads (device rebuilds, INFO), by read',
    labelNames: ['read'] as const,
    registers: [this.registry],
  });
  readonly batchedKeys = new client.Counter({
    name: 'ofd_ingest_batched_keys_total',
    help: 'Devices served by the batched ingest reads, by read',
    labelNames: ['read'] as const,
    registers: [this.registry],
  });
  /** KKM requests that failed the device's token check (per device: the notifications). */
  readonly wrongToken = new client.Counter({
    name: 'ofd_ingest_wrong_token_total',
    help: 'KKM requests that failed the token check of the device they named',
    registers: [this.registry],
  });
  readonly frameErrors = new client.Counter({
    name: 'ofd_ingest_frame_errors_total',
    help: 'Byte streams that were not protocol frames, by kind',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly httpSeconds = new client.Histogram({
    name: 'ofd_http_request_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  /** Queue depths, filled by the workers. */
  readonly queueDepth = new client.Gauge({
    name: 'ofd_queue_jobs',
    help: 'Jobs in a queue by state',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  /** Background job durations, observed by the workers. */
  readonly jobSeconds = new client.Histogram({
    name: 'ofd_job_seconds',
    help: 'Duration of a background job run, by queue, job name and outcome',
    labelNames: ['queue', 'name', 'status'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  /** Forwarding to the tax authority, by transport (src/forwarding). */
  readonly forwardBacklog = new client.Gauge({
    name: 'ofd_forward_backlog_documents',
    help: 'Committed documents and registry events not yet taken by the receiver, by transport',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  private readonly lagSources = new Map<string, () => number>();
  private readonly forwardLag = new client.Gauge({
    name: 'ofd_forward_lag_seconds',
    help: 'Age of the oldest committed document not yet taken by the receiver, by transport',
    labelNames: ['transport'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [transport, lag] of this.lagSources) this.forwardLag.set({ transport }, lag());
    },
  });
  /** Documents by outcome: sent (taken by the receiver) or failed (a batch not taken). */
  readonly forwardDocuments = new client.Counter({
    name: 'ofd_forward_documents_total',
    help: 'Documents forwarded, by transport and outcome (sent, failed)',
    labelNames: ['transport', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly forwardBatches = new client.Counter({
    name: 'ofd_forward_batches_total',
    help: 'Batches forwarded, by transport and outcome (sent, failed)',
    labelNames: ['transport', 'outcome'] as const,
    registers: [this.registry],
  });
  /** From our receipt of a document to the receiver taking it. */
  readonly forwardDelay = new client.Histogram({
    name: 'ofd_forward_delay_seconds',
    help: 'Time from receiving a document to its receiver taking it, by transport',
    labelNames: ['transport'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'ofd_process_' });
  }

  /** Where the lag of a transport is read from at every scrape. */
  forwardingLag(transport: string, seconds: () => number): void {
    this.lagSources.set(transport, seconds);
  }

  answer(command: number, result: number, ms: number): void {
    const name = COMMANDS[command] ?? 'unknown';
    this.answers.inc({ command: name, result: String(result) });
    this.answerSeconds.observe({ command: name }, ms / 1000);
  }

  flush(stats: FlushStats): void {
    this.batchRows.observe(stats.rows);
    this.flushSeconds.observe({ ok: String(stats.ok) }, stats.ms / 1000);
  }

  drain(stats: { rows: number; ms: number; ok: boolean; backlog: number }): void {
    this.drainRows.observe(stats.rows);
    this.drainSeconds.observe({ ok: String(stats.ok) }, stats.ms / 1000);
    this.spoolBacklog.set(stats.backlog);
  }

  /** Records HTTP latency per route and serves GET /metrics. */
  register(
    app: FastifyInstance,
    pendingRows: () => number,
    otherMetrics?: () => Promise<MetricsJson[]>,
  ): void {
    app.addHook('onResponse', async (req, reply) => {
      this.httpSeconds.observe(
        {
          method: req.method,
          route: req.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
    });
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      this.pendingRows.set(pendingRows());
      if (!otherMetrics) {
        return reply.type(this.registry.contentType).send(await this.registry.metrics());
      }
      // Ingest processes' figures added to this process's: counters and histograms summed,
      // and gauges too (open connections, pending rows).
      const merged = client.AggregatorRegistry.aggregate([
        await this.registry.getMetricsAsJSON(),
        ...(await otherMetrics()),
      ]);
      return reply.type(merged.contentType).send(await merged.metrics());
    });
  }
}
