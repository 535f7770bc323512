// Logging that never throws into the process. A log line is worth less than
// the daemon that writes it: when stderr's reader has gone (a dead log pipe,
// a closed terminal), a write fails with EPIPE or EIO, raised as an 'error'
// event on the stream. Unheard, that event is an uncaught exception, whose
// handler logs it, which fails again: a loop at full CPU. So the first
// failure marks the stream broken and later lines are dropped.

import { printableLine } from './render/printable.js';

export type Log = (line: string) => void;

export interface LogSink {
  write(text: string): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
}

export function streamLog(prefix: string, stream: LogSink): Log {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return (line: string): void => {
    if (broken) return;
    try {
      // Lines carry text from outside (members, errors of servers): one
      // line each, with nothing in it a terminal or a log viewer acts on.
      stream.write(`${prefix}: ${printableLine(line)}\n`);
    } catch {
      broken = true;
    }
  };
}
