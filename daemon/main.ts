#!/usr/bin/env node
// netpingd's entry point: the only place that exits the process.

import './memory-flags.js'; // first: it sets V8 flags before the heap grows
import { constants } from 'node:os';
import { CommanderError } from 'commander';
import { describeError, exitCodeOf, ExitCode } from '../lib/errors.js';
import { streamLog } from '../lib/log.js';
import { Daemon } from './daemon.js';
import { parseDaemonArgs } from './options.js';
import { STOP_EXIT_GRACE_MS } from './stop-budget.js';
import { REPEAT_SIGNAL_GAP_MS, StopSignals } from './stop-signals.js';

const log = streamLog('netpingd', process.stderr);
// stdout carries only --help and --version; a closed one must not loop either.
process.stdout.on('error', () => {});

function fail(err: unknown): never {
  log(describeError(err));
  process.exit(exitCodeOf(err));
}

/** The shell's convention for a process ended by a signal. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

async function main(): Promise<void> {
  let config;
  try {
    config = parseDaemonArgs(process.argv);
  } catch (err) {
    // --help and --version: commander has printed them already.
    if (err instanceof CommanderError) process.exit(ExitCode.ok);
    fail(err);
  }
  const daemon = await Daemon.create(config, log);
  // Replaced while cut off from Redis: the other process writes under the
  // id now, so this one goes without a save.
  void daemon.lost.then((err) => fail(err));
  // The daemon must outlive any one bad packet, target or Redis reply: an
  // error that escapes is logged and survived, not allowed to end the process.
  process.on('uncaughtException', (err) =>
    log(`unexpected error (continuing): ${describeError(err)}`),
  );
  process.on('unhandledRejection', (err) =>
    log(`unexpected rejection (continuing): ${describeError(err)}`),
  );
  // Monotonic: a wall clock set back must not change what a signal means.
  const signals = new StopSignals(() => performance.now());
  const shutdown = (signal: NodeJS.Signals): void => {
    const action = signals.take();
    if (action === 'repeat') {
      log(`${signal} again within ${REPEAT_SIGNAL_GAP_MS} ms: the same stop, still under way`);
      return;
    }
    if (action === 'exit-now') {
      log(`${signal} again: exiting now, without waiting for probes or saving`);
      process.exit(signalExitCode(signal));
    }
    // Probes in flight end by their own timeouts, then one save and the
    // store's goodbye, each bounded; past this, something hangs that no wait
    // will mend, and the process goes anyway.
    // The daemon's own deadline skips what is left of the store's steps; the
    // grace lets the local closes after it run.
    const budgetMs = daemon.stopBudgetMs() + STOP_EXIT_GRACE_MS;
    log(
      `${signal}: stopping (at most ${Math.ceil(budgetMs / 1000)} s; another signal a second or more later stops at once)`,
    );
    setTimeout(() => {
      log(`stop did not finish in ${budgetMs} ms: exiting without it`);
      process.exit(ExitCode.failure);
    }, budgetMs).unref();
    daemon.stop().then(
      () => process.exit(ExitCode.ok),
      (err: unknown) => fail(err),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP, the terminal going away or `systemctl reload`: re-read the
  // targets and save the statistics now, and keep running. Options come from
  // the command line and the environment, which a running process cannot
  // re-read; a change of those needs a restart.
  process.on('SIGHUP', () => {
    if (signals.stopping) return;
    log('SIGHUP: re-reading targets and saving statistics');
    daemon.reload().catch((err: unknown) => log(`reload failed: ${describeError(err)}`));
  });
  setInterval(
    () => daemon.takeProberProblems().forEach((p) => log(`socket: ${p}`)),
    10_000,
  ).unref();
  await daemon.start();
}

main().catch(fail);
