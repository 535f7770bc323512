// prometheus-smokeping-prober (Debian's 0.6.x) as a second reference: a
// daemon with a /metrics endpoint like netpingd's. It runs one pinger and
// one raw socket per target, so it is given fewer targets when asked.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, sleep, start, stop } from './processes.js';
import { measureDaemon, type Row } from './window.js';

export const SMOKEPING_BINARY = 'prometheus-smokeping-prober';

export interface SmokepingOptions {
  dir: string;
  addresses: readonly string[];
  warmupS: number;
  windowS: number;
}

export async function benchSmokeping(o: SmokepingOptions): Promise<Row> {
  const config = join(o.dir, 'smokeping_prober.yml');
  writeFileSync(
    config,
    [
      'targets:',
      '- hosts:',
      ...o.addresses.map((a) => `  - ${a}`),
      '  interval: 1s',
      '  network: ip4',
      '  protocol: icmp',
      '  size: 56',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const prober = start(SMOKEPING_BINARY, SMOKEPING_BINARY, [
    `--config.file=${config}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--privileged',
    '--log.level=warn',
  ]);
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  try {
    // It starts its pingers one interval/N apart and listens once all have.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (prober.child.exitCode !== null) {
        throw new Error(`${SMOKEPING_BINARY} exited: ${prober.stderr.slice(-5).join('\n')}`);
      }
      const up = await fetch(metricsUrl, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline) throw new Error(`${SMOKEPING_BINARY} did not listen in 60 s`);
      await sleep(200);
    }
    await sleep(o.warmupS * 1000);
    const { row } = await measureDaemon(
      'smokeping_prober',
      o.addresses.length,
      prober,
      metricsUrl,
      {
        sent: 'smokeping_requests_total',
        lost: undefined,
        rttHistogram: 'smokeping_response_duration_seconds',
      },
      o.windowS,
    );
    row.notes.push('loss = requests minus replies in the window (includes probes in flight)');
    return row;
  } finally {
    await stop(prober);
  }
}
