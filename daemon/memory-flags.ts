// Imported first by main.ts, for its side effect: a V8 flag that trades a
// little CPU for much less memory, set before the heap grows.
//
// Measured at 10,000 loopback targets (docs/BENCHMARKS.md): RSS at rest
// 203 -> 135 MB and its peak over five scrapes 250 -> 152 MB, for ~20 % more
// CPU per probe. A daemon that runs for years beside other services on a
// small box wants the memory more. --optimize-for-size makes the heap grow
// in smaller steps and collect before growing. (Young-generation sizes such
// as --max-semi-space-size are read once, when the heap is set up: they do
// nothing here and belong on node's command line.) NETPING_V8_FLAGS replaces
// the flag; '' keeps V8's defaults.

import v8 from 'node:v8';

export const MEMORY_FLAGS = '--optimize-for-size';

v8.setFlagsFromString(process.env.NETPING_V8_FLAGS ?? MEMORY_FLAGS);
