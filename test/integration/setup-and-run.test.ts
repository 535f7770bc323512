// The README's first command as a new user runs it: `bash
// scripts/setup-and-run.sh` in a fresh clone in a temporary directory, once
// as root on a PATH where sudo fails, once as a new user with sudo rights.
// Nothing global is touched: npm links into a temporary prefix, netpingd
// listens on a free loopback port with its own state directory and pings
// only localhost; the daemon, the user and every file are removed after.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { IS_ROOT, REPO_ROOT } from '../support/env.js';
import { freePort, hasCommand } from '../support/ops-harness.js';

const RUN_TIMEOUT_MS = 6 * 60_000;
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const skipAll =
  (!IS_ROOT && 'needs root: it starts netpingd and creates a user') ||
  (!hasCommand('git') && 'git is not installed') ||
  (!existsSync(path.join(REPO_ROOT, '.git')) && 'not run from a git clone');
const userTools = ['sudo', 'runuser', 'useradd', 'userdel'];
const skipUser =
  skipAll ||
  (!userTools.every(hasCommand) && `needs ${userTools.join(', ')} (test/run.sh installs sudo)`);

/** Runs a command to completion; throws with its output unless it exits 0. */
function must(cmd: string, args: readonly string[], opts: { cwd?: string; input?: string } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')}: ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`);
  }
  return r.stdout;
}

const git = (...args: string[]) => must('git', ['-c', 'safe.directory=*', ...args]);

/** A clone of this repository, with the working tree's uncommitted changes to tracked files. */
function freshClone(dest: string): void {
  git('clone', '--quiet', '--no-hardlinks', REPO_ROOT, dest);
  const diff = git('-C', REPO_ROOT, 'diff', 'HEAD', '--binary');
  if (diff !== '') must('git', ['-C', dest, 'apply', '--whitespace=nowarn'], { input: diff });
}

/** npm's global prefix as this machine has it: it must hold no netping before or after. */
function globalNetpingLink(): string {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k.toLowerCase() !== 'npm_config_prefix'),
  );
  const prefix = spawnSync('npm', ['prefix', '-g'], { encoding: 'utf8', env }).stdout.trim();
  return path.join(prefix, 'lib', 'node_modules', 'netping');
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs in its own process group, killed whole after RUN_TIMEOUT_MS. */
function runScript(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(
        new Error(`setup-and-run.sh did not end in ${RUN_TIMEOUT_MS} ms:\n${stdout}${stderr}`),
      );
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Ends the netpingd the script started (by the pid it printed) and any other process run from `base`. */
async function stopStarted(base: string, out: string): Promise<void> {
  const pids = new Set<number>();
  const printed = /netpingd runs as pid (\d+)/.exec(out)?.[1];
  if (printed !== undefined) pids.add(Number(printed));
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(base)) pids.add(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while ([...pids].some(alive) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** What a first run shows: the first target added and its row in the table, probed. */
function assertFirstRun(run: Run, prefix: string): void {
  assert.equal(run.code, 0, `setup-and-run.sh failed:\n${run.stdout}\n${run.stderr}`);
  // A host name is followed by netpingd (found in /etc/hosts by the system lookup).
  assert.match(run.stdout, /^added localhost@localhost, now (127\.0\.0\.1|::1)/m);
  assert.match(run.stdout, /^Name +Address +Probe +Sent +Recv +Succ +Loss /m);
  assert.match(run.stdout, /^localhost +(127\.0\.0\.1|::1) +icmp +[1-9]\d* /m, run.stdout);
  assert.match(run.stdout, /^Times in milliseconds\./m);
  // The fresh clone built our addon: kernel timestamps, not the raw-socket fallback.
  assert.match(run.stdout, /^setup-and-run: icmp: .*, kernel timestamps$/m, run.stdout);
  assert.ok(existsSync(path.join(prefix, 'bin', 'netpingd')), 'netpingd linked into the prefix');
  assert.ok(existsSync(path.join(prefix, 'bin', 'npcli')), 'npcli linked into the prefix');
}

/** npm settings for a build from this machine's cache: its Node headers, offline first, its proxies. */
function npmEnv(): Record<string, string> {
  const env: Record<string, string> = { npm_config_prefer_offline: 'true' };
  const nodedir = spawnSync('npm', ['config', 'get', 'nodedir'], {
    encoding: 'utf8',
  }).stdout.trim();
  if (nodedir !== '' && nodedir !== 'undefined' && nodedir !== 'null') {
    env.npm_config_nodedir = nodedir;
  }
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(https?|no)_proxy$/i.test(k) && v !== undefined) env[k] = v;
  }
  return env;
}

describe('the README first command, scripts/setup-and-run.sh, in a fresh clone', () => {
  it(
    'works as root, without sudo',
    { skip: skipAll, timeout: RUN_TIMEOUT_MS + 60_000 },
    async () => {
      const base = mkdtempSync(path.join(tmpdir(), 'netping-first-run-'));
      const link = globalNetpingLink();
      const linkedBefore = existsSync(link);
      let out = '';
      try {
        const clone = path.join(base, 'clone');
        const prefix = path.join(base, 'npm-global');
        const shims = path.join(base, 'shims');
        freshClone(clone);
        mkdirSync(shims);
        writeFileSync(
          path.join(shims, 'sudo'),
          '#!/bin/sh\necho "sudo called as root: $*" >&2\nexit 97\n',
        );
        chmodSync(path.join(shims, 'sudo'), 0o755);
        // Not the outer npm's lifecycle settings either (npm test sets
        // npm_config_prefix and friends, which would outrank ours): a new
        // user's shell has none of them.
        const env = Object.fromEntries(
          Object.entries(process.env).filter(
            ([k]) => !k.startsWith('NETPING_') && !k.toLowerCase().startsWith('npm_'),
          ),
        );
        const run = await runScript('bash', ['scripts/setup-and-run.sh'], clone, {
          ...env,
          ...npmEnv(),
          PATH: `${shims}:${process.env.PATH ?? SYSTEM_PATH}`,
          NPM_CONFIG_PREFIX: prefix,
          NETPING_LISTEN: `127.0.0.1:${await freePort()}`,
          NETPING_STATE_DIR: path.join(base, 'state'),
        });
        out = run.stdout;
        assert.ok(!run.stderr.includes('sudo called as root'), run.stderr);
        assertFirstRun(run, prefix);
        assert.match(run.stdout, /stop it with: kill \d+/);
      } finally {
        await stopStarted(base, out);
        rmSync(base, { recursive: true, force: true });
      }
      assert.equal(existsSync(link), linkedBefore, `${link} changed: npm link went global`);
    },
  );

  it(
    'works as a user with sudo, using sudo for what needs root',
    { skip: skipUser, timeout: RUN_TIMEOUT_MS + 60_000 },
    async () => {
      const base = mkdtempSync(path.join(tmpdir(), 'netping-first-run-user-'));
      chmodSync(base, 0o755); // the user reaches its clone and home through it
      const user = `npt${randomBytes(4).toString('hex')}`;
      const sudoers = `/etc/sudoers.d/netping-test-${user}`;
      const link = globalNetpingLink();
      const linkedBefore = existsSync(link);
      let out = '';
      let created = false;
      try {
        const home = path.join(base, 'home');
        const clone = path.join(base, 'clone');
        // Owned by root, as /usr is: the script must use sudo to link into it.
        const prefix = path.join(base, 'npm-global');
        mkdirSync(prefix);
        must('useradd', ['--create-home', '--home-dir', home, '--user-group', user]);
        created = true;
        writeFileSync(sudoers, `${user} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
        freshClone(clone);
        // npm's cache of this machine, so the new user's npm ci need not download it again.
        const cache = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' });
        const cacache = path.join(cache.stdout.trim(), '_cacache');
        if (existsSync(cacache)) {
          mkdirSync(path.join(home, '.npm'), { recursive: true });
          must('cp', ['-a', cacache, path.join(home, '.npm', '_cacache')]);
        }
        must('chown', ['-R', `${user}:${user}`, clone, home]);
        const vars = {
          HOME: home,
          USER: user,
          LOGNAME: user,
          PATH: SYSTEM_PATH,
          ...npmEnv(),
          NPM_CONFIG_PREFIX: prefix,
          NETPING_LISTEN: `127.0.0.1:${await freePort()}`,
          NETPING_STATE_DIR: path.join(base, 'state'),
        };
        const run = await runScript(
          'runuser',
          [
            '-u',
            user,
            '--',
            'env',
            '-i',
            ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
            'bash',
            'scripts/setup-and-run.sh',
          ],
          clone,
          { PATH: SYSTEM_PATH },
        );
        out = run.stdout;
        assertFirstRun(run, prefix);
        assert.match(run.stdout, /stop it with: sudo kill \d+/);
      } finally {
        await stopStarted(base, out);
        rmSync(sudoers, { force: true });
        if (created) spawnSync('userdel', ['--remove', user], { stdio: 'ignore' });
        rmSync(base, { recursive: true, force: true });
      }
      assert.equal(existsSync(link), linkedBefore, `${link} changed: npm link went global`);
    },
  );
});
