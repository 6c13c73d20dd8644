// The one interface every transport implements: send a batch, and either the receiver took
// every document of it (resolves, with any acknowledgements it gave back) or none (rejects).
// The forwarder moves its positions only on success, so a failed or unanswered batch is sent
// again, whole: receivers deduplicate by key.
import type { Acknowledgement, ForwardedDocument } from './envelope.js';

export interface ForwardTransport {
  /** The name positions, metrics and the admin routes know it by: http, file or none. */
  readonly name: string;
  /** Takes only registry events: documents are counted as taken without being read. */
  readonly positionsOnly?: boolean;
  send(documents: readonly ForwardedDocument[], signal: AbortSignal): Promise<Acknowledgement[]>;
  close(): Promise<void>;
}

/**
 * Sends nowhere: the default of a single node. Positions are still tracked (a transport
 * switched on later starts from its own positions, the beginning), and registry events count
 * as confirmed at once, since there is no authority to wait for. Beside a transport that sends
 * to the authority (`confirms: false`) it confirms nothing: the authority's answer counts.
 */
export class NoTransport implements ForwardTransport {
  readonly name = 'none';
  readonly positionsOnly = true;

  constructor(private readonly o: { confirms?: boolean } = {}) {}

  async send(documents: readonly ForwardedDocument[]): Promise<Acknowledgement[]> {
    if (this.o.confirms === false) return [];
    return documents
      .filter((d) => d.kind === 'kkm_event')
      .map((d) => ({ key: d.key, status: 'confirmed' as const, reference: 'none' }));
  }

  async close(): Promise<void> {}
}
