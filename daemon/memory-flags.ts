// Imported first by main.ts, for its side effect: V8 flags that trade a
// little CPU for much less memory, set before the heap grows.
//
// Measured at 10,000 loopback targets (docs/BENCHMARKS.md): RSS at rest
// 204 -> 131 MB and its peak over five scrapes 243 -> 135 MB, for ~20 % more
// CPU per probe. A daemon that runs for years beside other services on a
// small box wants the memory more. --optimize-for-size makes the heap grow
// in smaller steps (and collect before growing); a 1 MB young generation
// keeps the garbage of a scrape from inflating it (our objects are either
// long-lived targets or short-lived page pieces). NETPING_V8_FLAGS='' turns
// this off, or replaces it.

import v8 from 'node:v8';

export const MEMORY_FLAGS = '--optimize-for-size --max-semi-space-size=1';

v8.setFlagsFromString(process.env.NETPING_V8_FLAGS ?? MEMORY_FLAGS);
