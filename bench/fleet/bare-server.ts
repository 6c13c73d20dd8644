// The bare server the ingest ceiling is measured against (bench/ingest-ceiling.ts): KKM TCP on
// the project's own framer and codec, every request framed, decoded and answered (a TICKET with
// a fresh ticket number and its QR code, anything else a plain OK), with no device state, no
// token rules and no storage. What it reaches on this machine is what the protocol work alone
// costs; the OFD's figures are read against it.
//
//   forked by bench/ingest-ceiling.ts; sends its TCP port to the parent when listening.
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { decodeRequest, encodeResponse, resultResponse } from '../../src/protocol/codec.js';
import { FrameDecoder } from '../../src/protocol/framer.js';
import { Command } from '../../src/protocol/schema.js';

function serve(): void {
  let ticketNumber = 100_000_000_000;
  const server = net.createServer({ noDelay: true }, (socket) => {
    const frames = new FrameDecoder();
    socket.on('data', (chunk) =>
      frames.push(
        chunk,
        (frame) => {
          const decoded = decodeRequest(frame);
          if (!decoded.ok) {
            socket.write(
              encodeResponse(
                frame.header,
                frame.header.token,
                resultResponse(decoded.command, decoded.code),
              ),
            );
            return;
          }
          const command = decoded.request.command ?? 0;
          const response =
            command === Command.COMMAND_TICKET
              ? {
                  command,
                  result: { result_code: 0 },
                  ticket: {
                    ticket_number: String(++ticketNumber),
                    qr_code: Buffer.from(`http://localhost:8080/receipt?i=${ticketNumber}`),
                  },
                }
              : resultResponse(command, 0);
          socket.write(encodeResponse(frame.header, frame.header.token, response));
        },
        () => socket.destroy(),
      ),
    );
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as net.AddressInfo).port));
}

/** Starts the bare server in a child process: its pid, TCP port and a way to stop it. */
export async function spawnBareServer(): Promise<{
  pid: number;
  tcpPort: number;
  stop: () => Promise<void>;
}> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], {
    execArgv: ['--max-semi-space-size=64', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const tcpPort = await new Promise<number>((resolve, reject) => {
    child.once('message', (port) => resolve(Number(port)));
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  return {
    pid: child.pid!,
    tcpPort,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

if (process.argv[2] === '--serve') serve();
