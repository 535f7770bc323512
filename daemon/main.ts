#!/usr/bin/env node
// netpingd's entry point: the only place that exits the process.

import { CommanderError } from 'commander';
import { describeError, exitCodeOf, ExitCode } from '../lib/errors.js';
import { Daemon } from './daemon.js';
import { parseDaemonArgs } from './options.js';

const log = (line: string): void => {
  process.stderr.write(`netpingd: ${line}\n`);
};

function fail(err: unknown): never {
  log(describeError(err));
  process.exit(exitCodeOf(err));
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
  // The daemon must outlive any one bad packet, target or Redis reply: an
  // error that escapes is logged and survived, not allowed to end the process.
  process.on('uncaughtException', (err) =>
    log(`unexpected error (continuing): ${describeError(err)}`),
  );
  process.on('unhandledRejection', (err) =>
    log(`unexpected rejection (continuing): ${describeError(err)}`),
  );
  let signalled = false;
  const shutdown = (signal: string): void => {
    if (signalled) return;
    signalled = true;
    log(`${signal}: stopping`);
    daemon.stop().then(
      () => process.exit(ExitCode.ok),
      (err: unknown) => fail(err),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  setInterval(
    () => daemon.takeTransportProblems().forEach((p) => log(`socket: ${p}`)),
    10_000,
  ).unref();
  await daemon.start();
}

main().catch(fail);
