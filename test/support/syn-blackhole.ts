// A loopback port that drops SYNs, without privileges or a firewall: a
// listener in a child process that is stopped (SIGSTOP) so it never accepts,
// whose accept queue (backlog 1) we fill ourselves. Linux drops a SYN for a
// listener whose accept queue is full (tcp_conn_request: ListenOverflows),
// so connections to it stay in SYN-SENT, retransmitting, until given up.

import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const LISTENER = `
const s = require('net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(String(s.address().port) + '\\n');
  process.kill(process.pid, 'SIGSTOP');
});
setTimeout(() => process.exit(0), 120000); // never outlives the suite
`;

export class SynBlackhole {
  readonly #fillers: Socket[] = [];

  private constructor(
    readonly port: number,
    readonly child: ChildProcess,
  ) {}

  static async start(): Promise<SynBlackhole> {
    const child = spawn(process.execPath, ['-e', LISTENER], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 100 && !out.includes('\n'); i++) await sleep(20);
    const port = Number(out.trim());
    if (!(port > 0)) {
      child.kill('SIGKILL');
      throw new Error('the blackhole listener did not start');
    }
    const hole = new SynBlackhole(port, child);
    // Connect until one does not complete: the queue is full from then on.
    for (let i = 0; i < 10; i++) {
      if (!(await hole.#fill(300))) return hole;
    }
    hole.stop();
    throw new Error('the blackhole listener kept accepting');
  }

  /** Whether one more connection completed within `waitMs`. */
  async #fill(waitMs: number): Promise<boolean> {
    const socket = connect(this.port, '127.0.0.1');
    socket.on('error', () => {}); // a filler's fate does not matter
    this.#fillers.push(socket);
    const done = await Promise.race([
      new Promise<boolean>((resolve) => socket.once('connect', () => resolve(true))),
      sleep(waitMs).then(() => false),
    ]);
    if (!done) socket.destroy();
    return done;
  }

  stop(): void {
    for (const s of this.#fillers) s.destroy();
    this.child.kill('SIGKILL'); // a stopped process still dies of SIGKILL
  }
}
