// Control bytes written into the Redis set never reach a terminal (issue 20):
// a member carrying an xterm title change and a screen clear, read by a real
// netpingd from a real redis-server, then shown by `curl /`, by `npcli list`
// (from Redis and from the daemon) and in the daemon's log.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { CLI_JS, IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = SKIP_NO_REDIS || (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root');
const EVIL = 'evil@127.0.0.1?interval=\u001b]0;PWNED\u0007\u001b[2J';

/**
 * Bytes a terminal acts on: below 0x20 but newline, DEL, and 0x9b (a CSI to
 * terminals that read 8-bit controls). As offsets, to show where.
 */
function controlBytes(bytes: Buffer): number[] {
  const found: number[] = [];
  bytes.forEach((b, i) => {
    if ((b < 0x20 && b !== 0x0a) || b === 0x7f || b === 0x9b) found.push(i);
  });
  return found;
}

/** The same for text already decoded (the daemon's log): U+009B, and U+FFFD for a lone 0x9b byte. */
function controlChars(text: string): string[] {
  return [...text].filter((c) => /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\ufffd]/.test(c));
}

/** npcli as a terminal would get it: stdout and stderr as bytes. */
function npcliBytes(args: readonly string[]): Promise<{ code: number | null; out: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: Buffer.concat(chunks) });
    });
  });
}

describe('control bytes in a Redis member', { skip }, () => {
  const prefix = uniquePrefix();
  let redis: Redis;
  let daemon: RunningDaemon;

  before(async () => {
    redis = new Redis(TEST_REDIS_URL!);
    await redis.sadd(`{${prefix}}:targets`, EVIL, 'ok@127.0.0.1');
    daemon = await startDaemon(['--redis', TEST_REDIS_URL!, '--prefix', prefix]);
  });

  after(async () => {
    await daemon?.stop();
    await redis?.del(`{${prefix}}:targets`);
    redis?.disconnect();
  });

  it('`curl /` shows the member and its error escaped, with no control byte', async () => {
    const body = await eventually('the member listed as an error at /', async () => {
      const res = await fetch(`${daemon.baseUrl}/`, { headers: { accept: '*/*' } });
      const bytes = Buffer.from(await res.arrayBuffer());
      return bytes.includes('ERROR') && bytes.includes('ok ') ? bytes : undefined;
    });
    assert.deepEqual(controlBytes(body), [], body.toString());
    const text = body.toString();
    assert.match(text, /ERROR {2}"evil@127\.0\.0\.1\?interval=\\u001b\]0;PWNED\\u0007\\u001b\[2J"/);
    assert.match(text, /invalid interval '\\u001b\]0;PWNED\\u0007\\u001b\[2J'/);
  });

  it('`npcli list` prints no control byte, read from Redis or from the daemon', async () => {
    for (const args of [
      ['--redis', TEST_REDIS_URL!, '--prefix', prefix, 'list'],
      ['--url', daemon.baseUrl, 'list'],
    ]) {
      const { code, out } = await npcliBytes(args);
      assert.equal(code, 0, out.toString());
      assert.match(out.toString(), /invalid member "evil@/, args.join(' '));
      assert.deepEqual(controlBytes(out), [], `${args.join(' ')}:\n${out.toString()}`);
    }
  });

  it("the daemon's log names the member with no control character", async () => {
    const log = await eventually('the skipped member in the log', () =>
      Promise.resolve(
        /skipping target set member "evil@/.test(daemon.log()) ? daemon.log() : undefined,
      ),
    );
    assert.deepEqual(controlChars(log), [], log);
    assert.match(log, /\\u001b\]0;PWNED\\u0007/);
  });
});
