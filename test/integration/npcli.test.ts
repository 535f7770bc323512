// npcli as a user runs it, without a daemon: help, and what it says about a
// --url it cannot use. Needs neither root nor Redis.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { runCli } from '../support/processes.js';

/**
 * npcli on a fresh prefix of the test Redis, and that prefix's target set,
 * removed after the suite.
 */
function redisTargetSet(): {
  cli: (...args: string[]) => ReturnType<typeof runCli>;
  members: () => Promise<string[]>;
} {
  const prefix = uniquePrefix();
  const key = `{${prefix}}:targets`;
  let redis: Redis | undefined;
  before(() => {
    redis = new Redis(TEST_REDIS_URL!);
  });
  after(async () => {
    await redis?.del(key);
    redis?.disconnect();
  });
  return {
    cli: (...args) => runCli(['--redis', TEST_REDIS_URL!, '--prefix', prefix, ...args]),
    members: async () => (await redis!.smembers(key)).sort(),
  };
}

describe('npcli help', () => {
  it('`npcli help add` prints the help of add and exits 0, like `npcli add --help`', async () => {
    const viaHelp = await runCli(['help', 'add']);
    const viaFlag = await runCli(['add', '--help']);
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.match(viaHelp.stdout, /^Usage: npcli add /m);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
  });

  it('`npcli help` exits 0; no command at all is a usage error (exit 2)', async () => {
    const help = await runCli(['help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: npcli /m);
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: npcli /m);
  });
});

describe('npcli --url it cannot use', () => {
  it('names the URL and why for a port fetch refuses (exit 2, one line)', async () => {
    const res = await runCli(['--url', 'http://127.0.0.1:9', 'list']);
    assert.equal(res.code, 2, res.stderr);
    assert.equal(res.stdout, '');
    const lines = res.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0]!, /^npcli: cannot use --url http:\/\/127\.0\.0\.1:9: /);
    assert.match(lines[0]!, /port 9/);
    assert.match(lines[0]!, /refuses/);
  });

  it('says what is wrong with a --url that is not an http URL (exit 2, one line)', async () => {
    for (const url of ['nonsense', 'ftp://127.0.0.1:9922']) {
      const res = await runCli(['--url', url, 'stats']);
      assert.equal(res.code, 2, `${url}: ${res.stderr}`);
      assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr);
      assert.match(res.stderr, /^npcli: cannot use --url .*http:\/\/HOST:PORT/);
    }
  });
});

describe('npcli remove on a Redis set', { skip: SKIP_NO_REDIS }, () => {
  const { cli, members } = redisTargetSet();

  before(async () => {
    const added = await cli('add', 'a@127.0.0.1', 'b@127.0.0.1', 'c@127.0.0.2');
    assert.equal(added.code, 0, added.stderr);
  });

  it('refuses, exit 2 and nothing removed, an address that names several targets', async () => {
    const res = await cli('remove', '127.0.0.1');
    assert.equal(res.code, 2, res.stderr);
    assert.equal(res.stdout, '');
    assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr);
    assert.match(
      res.stderr,
      /^npcli: "127\.0\.0\.1" matches 2 targets \("a@127\.0\.0\.1", "b@127\.0\.0\.1"\): nothing removed; .*--all/,
    );
    assert.deepEqual(await members(), ['a@127.0.0.1', 'b@127.0.0.1', 'c@127.0.0.2']);
  });

  it('removes them all with --all, and says how many', async () => {
    const res = await cli('remove', '127.0.0.1', '--all');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'removed a@127.0.0.1\nremoved b@127.0.0.1\n2 targets removed\n');
    assert.deepEqual(await members(), ['c@127.0.0.2']);
  });

  it('removes the one target an address names without --all', async () => {
    const res = await cli('remove', '127.0.0.2');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'removed c@127.0.0.2\n1 target removed\n');
    assert.deepEqual(await members(), []);
  });
});

describe('npcli --probe and --port', { skip: SKIP_NO_REDIS }, () => {
  const { cli, members } = redisTargetSet();

  for (const [what, args, message] of [
    [
      'an unknown kind',
      ['--probe', 'smtp'],
      /^npcli: invalid probe kind 'smtp': expected one of icmp/,
    ],
    ['--port without --probe', ['--port', '443'], /^npcli: --port needs --probe/],
    ['a port for icmp', ['--probe', 'icmp', '--port', '7'], /icmp probes take no port/],
  ] as const) {
    it(`refuses ${what}: exit 2, one line, nothing written`, async () => {
      const res = await cli('add', 'web@192.0.2.1', ...args);
      assert.equal(res.code, 2, res.stderr);
      assert.equal(res.stdout, '');
      assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr);
      assert.match(res.stderr, message);
      assert.deepEqual(await members(), []);
    });
  }

  it('adds with --probe icmp as without, and lists the probe', async () => {
    const res = await cli('add', 'web@192.0.2.1', '--probe', 'icmp');
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await members(), ['web@192.0.2.1']);
    const list = await cli('list');
    assert.match(list.stdout, /│ web +│ 192\.0\.2\.1 +│ icmp +│/);
    const json = JSON.parse((await cli('list', '--json')).stdout) as {
      targets: { probe: string; port?: number }[];
    };
    assert.deepEqual(json.targets, [{ name: 'web', address: '192.0.2.1', probe: 'icmp' }]);
  });
});

describe('npcli with tcp targets', { skip: SKIP_NO_REDIS }, () => {
  const { cli, members } = redisTargetSet();

  before(async () => {
    const added = await cli('add', 'web@192.0.2.1');
    assert.equal(added.code, 0, added.stderr);
  });

  it('refuses --probe tcp without a port: exit 2, nothing written', async () => {
    const res = await cli('add', 'web@192.0.2.1', '--probe', 'tcp');
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /^npcli: invalid target: tcp probes need a port/);
    assert.deepEqual(await members(), ['web@192.0.2.1']);
  });

  it('adds the same host by tcp beside icmp, by flags or in the member', async () => {
    let res = await cli('add', 'web@192.0.2.1', '--probe', 'tcp', '--port', '443');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'added web@192.0.2.1?probe=tcp&port=443\n');
    res = await cli('add', 'web@192.0.2.1?probe=tcp&port=80');
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await members(), [
      'web@192.0.2.1',
      'web@192.0.2.1?probe=tcp&port=443',
      'web@192.0.2.1?probe=tcp&port=80',
    ]);
    const list = await cli('list');
    assert.match(list.stdout, /│ web +│ 192\.0\.2\.1 +│ tcp:443 +│/);
  });

  it('refuses a bare name@address with several probes; --probe/--port picks one', async () => {
    let res = await cli('remove', 'web@192.0.2.1');
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /matches 3 targets/);
    res = await cli('remove', 'web@192.0.2.1', '--probe', 'tcp', '--port', '80');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'removed web@192.0.2.1?probe=tcp&port=80\n1 target removed\n');
    res = await cli('remove', 'web@192.0.2.1?probe=tcp&port=443');
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await members(), ['web@192.0.2.1']);
  });
});

describe('npcli with throughput targets', { skip: SKIP_NO_REDIS }, () => {
  const { cli, members } = redisTargetSet();

  const wan = ['add', 'wan@192.0.2.7', '--probe', 'throughput', '--port', '9923'];
  for (const [what, args, message] of [
    [
      '--interval on a throughput target',
      [...wan, '--interval', '5s'],
      /^npcli: --interval and --timeout do not apply to throughput targets: they take --every and --duration$/,
    ],
    [
      '--timeout on a throughput target',
      [...wan, '--timeout', '2s'],
      /^npcli: --interval and --timeout do not apply to throughput targets/,
    ],
    [
      '--every on an icmp target',
      ['add', 'wan@192.0.2.7', '--probe', 'icmp', '--every', '15m'],
      /^npcli: --every and --duration apply to throughput targets only, not to icmp ones$/,
    ],
    [
      '--duration without --probe',
      ['add', 'wan@192.0.2.7', '--duration', '5s'],
      /^npcli: --every and --duration need --probe throughput$/,
    ],
    [
      'an every shorter than its bound',
      [...wan, '--every', '1s'],
      /^npcli: invalid every '1s': must be between 10s and/,
    ],
    [
      '--interval on a member that names throughput',
      ['add', 'wan@192.0.2.7?probe=throughput', '--interval', '5s'],
      /^npcli: invalid target wan@192\.0\.2\.7: throughput targets take every and duration/,
    ],
  ] as const) {
    it(`refuses ${what}: exit 2, one line, nothing written`, async () => {
      const res = await cli(...args);
      assert.equal(res.code, 2, res.stderr);
      assert.equal(res.stdout, '');
      assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr);
      assert.match(res.stderr.trimEnd(), message);
      assert.deepEqual(await members(), []);
    });
  }

  it('adds one with --every and --duration, as the README shows', async () => {
    const res = await cli(...wan, '--every', '15m', '--duration', '5s');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stdout,
      'added wan@192.0.2.7?probe=throughput&port=9923&every=15m&duration=5s\n',
    );
    assert.deepEqual(await members(), [
      'wan@192.0.2.7?probe=throughput&port=9923&every=15m&duration=5s',
    ]);
    const list = await cli('list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /│ wan +│ 192\.0\.2\.7 +│ throughput:9923 +│/);
  });
});
