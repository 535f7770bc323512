import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * What `promtool check metrics` says of an exposition ('' when it is clean),
 * or undefined when promtool is not installed.
 */
export async function promtoolComplaints(metrics: string): Promise<string | undefined> {
  const dir = await mkdtemp(path.join(tmpdir(), 'netping-promtool-'));
  const file = path.join(dir, 'metrics.txt');
  try {
    await writeFile(file, metrics);
    return await new Promise((resolve) => {
      // promtool reads the exposition from stdin.
      execFile(
        'sh',
        [
          '-c',
          'command -v promtool >/dev/null || exit 127; promtool check metrics < "$1"',
          'sh',
          file,
        ],
        { timeout: 30_000 },
        (err, stdout, stderr) => {
          if (err && err.code === 127) return resolve(undefined);
          resolve(`${stdout}${stderr}${err ? `(exit ${String(err.code)})` : ''}`);
        },
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A Prometheus configuration that scrapes one netpingd on loopback every second. */
export function scrapeConfig(daemonPort: number): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: netping',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${daemonPort}']`,
    '',
  ].join('\n');
}
