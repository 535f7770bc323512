// A target's line found in a chunk file whose lines are sorted by target
// (history-files.ts): a binary search over byte offsets, a read of 16 kB
// a step (log2 of the targets), so reading one target of a chunk of 10,000 costs
// about 14 reads and not the whole file.

import type { FileHandle } from 'node:fs/promises';

const BLOCK = 4096;
// A target's line is 1-3 kB: a read of this size holds the newline before it and the line.
const LINE_BLOCK = 16 * 1024;
// A line longer than this is not one this store writes (a target's minute
// records of an hour are ~1-2 kB): the search gives up rather than read on.
const MAX_LINE = 1 << 20;

export interface ChunkLine {
  readonly key: string;
  readonly records: string;
}

/** A line `["key","records"]`, or undefined if it is not one (a line cut short). */
export function parseChunkLine(line: string): ChunkLine | undefined {
  try {
    const v: unknown = JSON.parse(line);
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return { key: v[0], records: v[1] };
  } catch {
    // a line cut short
  }
  return undefined;
}

/** The order of the sorted files: plain UTF-16 order of the keys, as `<` compares them. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The line of `key` in the sorted file `fh` of `size` bytes, or undefined. */
export async function findSortedLine(
  fh: FileHandle,
  size: number,
  key: string,
): Promise<ChunkLine | undefined> {
  let lo = 0; // a line start
  let hi = size; // no line of `key` starts at or after hi
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const line = await lineFrom(fh, size, mid);
    if (!line || line.start >= hi) {
      hi = mid;
      continue;
    }
    const found = parseChunkLine(line.text);
    if (!found) return undefined; // damaged: the caller scans the file instead
    const order = compareKeys(found.key, key);
    if (order === 0) return found;
    if (order < 0) lo = line.end;
    else hi = line.start;
  }
  return undefined;
}

class SortedFileError extends Error {
  override name = 'SortedFileError';
}

/** The first whole line starting at or after `pos` (pos itself when it follows a newline). */
async function lineFrom(
  fh: FileHandle,
  size: number,
  pos: number,
): Promise<{ start: number; end: number; text: string } | undefined> {
  // Nearly always one read: a block from pos - 1 holds the newline before the line and the line.
  const from = Math.max(0, pos - 1);
  const buf = Buffer.alloc(Math.min(LINE_BLOCK, size - from));
  const { bytesRead } = await fh.read(buf, 0, buf.length, from);
  const got = buf.subarray(0, bytesRead);
  const before = pos === 0 ? -1 : got.indexOf(0x0a);
  if (pos === 0 || before >= 0) {
    const start = from + before + 1;
    const after = got.indexOf(0x0a, before + 1);
    if (start >= size) return undefined;
    if (after >= 0)
      return { start, end: from + after + 1, text: got.toString('utf8', before + 1, after) };
    if (from + bytesRead >= size)
      return { start, end: size, text: got.toString('utf8', before + 1) };
  }
  return lineFromBlocks(fh, size, pos);
}

/** lineFrom for a line longer than a block: found newline by newline. */
async function lineFromBlocks(
  fh: FileHandle,
  size: number,
  pos: number,
): Promise<{ start: number; end: number; text: string } | undefined> {
  let start = pos;
  if (pos > 0) {
    // Skip to after the newline at or after pos - 1.
    const nl = await newlineFrom(fh, size, pos - 1);
    if (nl < 0) return undefined;
    start = nl + 1;
  }
  if (start >= size) return undefined;
  const nl = await newlineFrom(fh, size, start);
  const end = nl < 0 ? size : nl;
  if (end - start > MAX_LINE) throw new SortedFileError('a line longer than 1 MB');
  const buf = Buffer.alloc(end - start);
  await fh.read(buf, 0, buf.length, start);
  return { start, end: nl < 0 ? size : nl + 1, text: buf.toString('utf8') };
}

/** The offset of the first newline at or after `pos`, or -1. */
async function newlineFrom(fh: FileHandle, size: number, pos: number): Promise<number> {
  const buf = Buffer.alloc(BLOCK);
  for (let at = pos; at < size && at - pos <= MAX_LINE; at += BLOCK) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(BLOCK, size - at), at);
    const i = buf.subarray(0, bytesRead).indexOf(0x0a);
    if (i >= 0) return at + i;
  }
  return -1;
}
