// Where one-time codes go: an SMS (or e-mail) adapter. The default writes the message to the
// log (development, and deployments that deliver codes some other way); the HTTP gateway
// adapter POSTs {to, text} as JSON to a configured URL and fails on anything but 2xx.
import type { Logger } from 'pino';

export interface MessageSender {
  send(to: string, text: string): Promise<void>;
}

export const logSender = (log: Logger, channel: string): MessageSender => ({
  async send(to, text) {
    log.info({ channel, to, text }, `${channel}: message (log adapter)`);
  },
});

export const httpGatewaySender = (url: string, timeoutMs = 10_000): MessageSender => ({
  async send(to, text) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to, text }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`SMS gateway answered ${res.status}`);
  },
});
