// The outages of a daemon without Redis: an append-only JSON-lines file in
// the state directory, one record a line. Bounded: past MAX_FILE_BYTES the
// file is renamed to outages.1.jsonl (rename is atomic, and replaces the
// older one), so at most two files' worth is kept. A line cut off by a
// crash is skipped when read; the next append starts on a new line.

import { appendFile, open, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { EventStore } from './event-store.js';
import { SerialSteps } from './serial-steps.js';

export const OUTAGES_FILE = 'outages.jsonl';
export const OUTAGES_OLDER_FILE = 'outages.1.jsonl';
/** ~5,000 records of ~400 bytes each per file. */
export const MAX_FILE_BYTES = 2 * 1024 * 1024;

export class EventFile implements EventStore {
  readonly #file: string;
  readonly #older: string;
  readonly #maxBytes: number;
  #size: number | undefined;
  readonly #steps = new SerialSteps();

  constructor(dir: string, maxBytes = MAX_FILE_BYTES) {
    this.#file = path.join(dir, OUTAGES_FILE);
    this.#older = path.join(dir, OUTAGES_OLDER_FILE);
    this.#maxBytes = maxBytes;
  }

  /** Appends in order; appends never overlap (one chain). */
  appendOutages(records: readonly string[]): Promise<void> {
    const text = records.map((r) => `${r}\n`).join('');
    return this.#steps.run(() => this.#append(text));
  }

  async #append(text: string): Promise<void> {
    if (this.#size === undefined) this.#size = await this.#openSize();
    if (this.#size > 0 && this.#size + text.length > this.#maxBytes) {
      await rename(this.#file, this.#older);
      this.#size = 0;
    }
    await appendFile(this.#file, text, { mode: 0o600 });
    this.#size += Buffer.byteLength(text);
  }

  /** The file's size, after ending a line a crash cut off. */
  async #openSize(): Promise<number> {
    let size: number;
    try {
      size = (await stat(this.#file)).size;
    } catch {
      return 0;
    }
    if (size === 0) return 0;
    const fh = await open(this.#file, 'r');
    try {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] === 0x0a) return size;
    } finally {
      await fh.close();
    }
    await appendFile(this.#file, '\n');
    return size + 1;
  }

  async recentOutages(limit: number): Promise<string[]> {
    await this.#steps.settled();
    const lines: string[] = [];
    for (const file of [this.#file, this.#older]) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        continue;
      }
      const fileLines = text.split('\n').filter((l) => l !== '');
      for (let i = fileLines.length - 1; i >= 0 && lines.length < limit; i--)
        lines.push(fileLines[i]!);
      if (lines.length >= limit) break;
    }
    return lines;
  }
}
