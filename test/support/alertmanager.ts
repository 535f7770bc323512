// A real prometheus-alertmanager (Debian's) for the alert tests: its own
// config (one receiver that sends nowhere: delivery is not ours to test),
// its own storage directory, clustering off, started inside a network
// namespace the test made (so it listens where only the test's processes
// can reach) and read through its API v2.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hasCommand, Spawned } from './ops-harness.js';
import { httpGetIn } from './netns.js';

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

const CONFIG = `route:
  receiver: nowhere
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: nowhere
`;

/** One alert as GET /api/v2/alerts answers it (the fields the tests read). */
export interface GettableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly status: { readonly state: string };
}

export function alertmanagerMissing(): string | undefined {
  return hasCommand(ALERTMANAGER) ? undefined : `${ALERTMANAGER} is not installed`;
}

export class Alertmanager {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'netping-am-'));
  process: Spawned | undefined;

  constructor(
    readonly ns: string,
    readonly host: string,
    readonly port: number,
  ) {
    writeFileSync(path.join(this.dir, 'alertmanager.yml'), CONFIG);
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** Starts it (again, keeping its storage) and waits until it answers. */
  async start(): Promise<void> {
    this.process = new Spawned('ip', [
      'netns',
      'exec',
      this.ns,
      'timeout',
      '-k',
      '5',
      '300',
      ALERTMANAGER,
      `--config.file=${path.join(this.dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(this.dir, 'data')}`,
      `--web.listen-address=${this.host}:${this.port}`,
      '--cluster.listen-address=',
    ]);
    for (let i = 0; i < 50; i++) {
      try {
        await httpGetIn(this.ns, `${this.url}/-/ready`);
        return;
      } catch {
        if (!this.process.running) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(`alertmanager did not start\n${this.process.tail()}`);
  }

  async stop(): Promise<void> {
    await this.process?.stop(3_000);
  }

  /** The alerts it holds now that are active (firing, not resolved). */
  async active(): Promise<GettableAlert[]> {
    const text = await httpGetIn(
      this.ns,
      `${this.url}/api/v2/alerts?active=true&silenced=false&inhibited=false`,
    );
    return (JSON.parse(text) as GettableAlert[]).filter((a) => a.status.state === 'active');
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
