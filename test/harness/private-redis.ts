// Our own redis-server on a free port, for tests and benches that stop, kill or restart Redis
// (the machine's Redis at 6379 is shared and must keep running).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Our own redis-server (no persistence): every start is an empty Redis on the same port. */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly dir = mkdtempSync(join(tmpdir(), 'ofd-redis-'));
  /** Starts counted so far (the first one included). */
  starts = 0;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /** Starts redis-server (empty) and resolves once it accepts connections. */
  async up(): Promise<void> {
    if (this.proc) return;
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--protected-mode',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    let dead = false;
    this.exited = new Promise((resolve) =>
      proc.once('exit', () => {
        dead = true;
        resolve();
      }),
    );
    this.proc = proc;
    const deadline = Date.now() + 10_000;
    while (!(await this.ping())) {
      if (dead) throw new Error(`redis-server exited: ${err}`);
      if (Date.now() > deadline) throw new Error('redis-server did not start in 10 s');
      await sleep(20);
    }
    this.starts++;
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect({ port: this.port, host: '127.0.0.1' });
      let got = '';
      s.once('connect', () => s.write('PING\r\n'));
      s.on('data', (b) => {
        got += b.toString();
        if (got.includes('\r\n')) {
          s.destroy();
          resolve(got.startsWith('+PONG'));
        }
      });
      s.once('error', () => resolve(false));
    });
  }

  /** SHUTDOWN NOSAVE: Redis stops and forgets everything. */
  async shutdownNoSave(): Promise<void> {
    if (!this.proc) return;
    await new Promise<void>((resolve) => {
      const s = net.connect({ port: this.port, host: '127.0.0.1' }, () =>
        s.write('SHUTDOWN NOSAVE\r\n'),
      );
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    await this.exited;
    this.proc = null;
  }

  /** kill -9 of redis-server. */
  async kill(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill('SIGKILL');
    await this.exited;
    this.proc = null;
  }

  async close(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
