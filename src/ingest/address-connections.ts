// Connections held per remote address, with a cap: the TCP server and the HTTP server (POST
// /kkm, /kkm/ws and the rest) each keep one, so one address cannot take every slot.
import type net from 'node:net';
import type { Logger } from 'pino';

export class ConnectionsByAddress {
  private readonly held = new Map<string, number>();
  /** Addresses at their limit that were logged, so a flood makes one line per address. */
  private readonly logged = new Set<string>();

  constructor(
    /** Connections one address may hold (0: no limit, nothing counted). */
    readonly limit: number,
    private readonly log: Logger,
  ) {}

  /** Counts a connection from `address`; false (nothing counted) when it holds its limit. */
  admit(address: string): boolean {
    if (this.limit <= 0) return true;
    const held = this.held.get(address) ?? 0;
    if (held >= this.limit) {
      if (!this.logged.has(address)) {
        this.logged.add(address);
        this.log.warn(
          { remote: address, limit: this.limit },
          'per-address connection limit reached; refusing new connections from it',
        );
      }
      return false;
    }
    this.held.set(address, held + 1);
    return true;
  }

  release(address: string): void {
    if (this.limit <= 0) return;
    const held = (this.held.get(address) ?? 1) - 1;
    if (held > 0) this.held.set(address, held);
    else this.held.delete(address);
    if (held < this.limit) this.logged.delete(address);
  }

  /** Applies the cap to every connection `server` accepts: past it they are closed at once. */
  guard(server: net.Server, onRefused: () => void): void {
    server.on('connection', (socket: net.Socket) => {
      const address = socket.remoteAddress ?? '';
      if (!this.admit(address)) {
        socket.destroy();
        onRefused();
        return;
      }
      socket.once('close', () => this.release(address));
    });
  }
}
