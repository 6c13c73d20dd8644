// HTTP(S) POST of each batch as JSON ({"documents": [...]}) to OFD_FORWARD_URL, with an
// optional client certificate (mTLS) and CA, over keep-alive connections. A 2xx answer means
// every document was taken (its body may carry acknowledgements); anything else, or no answer
// within the timeout, means none was: the request is tried again with exponential back-off and
// full jitter, and after the last attempt the batch fails (the forwarder sends it again later).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { backOff } from 'exponential-backoff';
import { acknowledgementsOf, type Acknowledgement, type ForwardedDocument } from './envelope.js';
import type { ForwardTransport } from './transport.js';

export interface HttpTransportOptions {
  url: string;
  /** PEM files: a client certificate and its key (mTLS), a CA to trust instead of the system's. */
  clientCertFile?: string;
  clientKeyFile?: string;
  caFile?: string;
  timeoutMs: number;
  /** Attempts per batch beyond the first, and the back-off between them. */
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Told of every failed attempt (logging). */
  onRetry?: (err: Error, attempt: number) => void;
}

/** A non-2xx answer. */
export class ReceiverRefused extends Error {
  constructor(
    readonly statusCode: number,
    body: string,
  ) {
    super(`receiver answered ${statusCode}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'ReceiverRefused';
  }
}

export class HttpTransport implements ForwardTransport {
  readonly name = 'http';
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly o: HttpTransportOptions) {
    this.url = new URL(o.url);
    const read = (file?: string) => (file ? readFileSync(file) : undefined);
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            cert: read(o.clientCertFile),
            key: read(o.clientKeyFile),
            ca: read(o.caFile),
          })
        : new http.Agent({ keepAlive: true });
  }

  async send(documents: readonly ForwardedDocument[], signal: AbortSignal) {
    const body = Buffer.from(JSON.stringify({ documents }));
    return backOff(() => this.post(body, signal), {
      numOfAttempts: this.o.retries + 1,
      startingDelay: this.o.retryBaseMs,
      maxDelay: this.o.retryMaxMs,
      timeMultiple: 2,
      jitter: 'full',
      retry: (err: Error, attempt: number) => {
        this.o.onRetry?.(err, attempt);
        return !signal.aborted;
      },
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private post(body: Buffer, signal: AbortSignal): Promise<Acknowledgement[]> {
    const client = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          signal,
          timeout: this.o.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) return reject(new ReceiverRefused(status, text));
            resolve(acknowledgementsOf(parseJson(text)));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.o.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
