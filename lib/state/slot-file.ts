// A state file rewritten often (the statistics' checkpoints, stats.json:
// once an hour, and every save when a test asks) without costing the disk
// a whole new file each time: two copies, `<file>` and `<file>.b`,
// written in turn, in place (no new file, no rename, no fsync), so the
// kernel's page cache absorbs the rewrites and writes each copy back about
// every 30 s (vm.dirty_expire_centisecs) instead of once per save. A copy
// is a JSON document that ends in its sequence number and the SHA-1 of its
// body, so one cut short by a kill, a power cut or a full disk is told
// apart, and the other copy, one save older, is read instead.
//
// A kill -9 loses nothing the process wrote (the kernel has it); a power
// cut loses what the kernel had not written back, about 30 s at most by
// default. sync() syncs both copies (the store calls it after each
// checkpoint and at stop).

import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Slices } from '../slicing.js';

/** The second copy's name. */
export const SECOND_COPY_SUFFIX = '.b';

export interface SlotContent {
  /** The document's first part, up to where its body starts (`{"version":1,"stats":`). */
  readonly head: string;
  /** The body in pieces: their SHA-1 is checked at read. */
  readonly body: Iterable<string>;
}

export class SlotFile {
  readonly #file: string;
  #seq: number;
  #sha1: string;
  #written = false;
  readonly #dirty = new Set<string>();

  /** `seq` and `sha1` are the newest copy's, as read (0 and '' for none). */
  constructor(file: string, seq: number, sha1 = '') {
    this.#file = file;
    this.#seq = seq;
    this.#sha1 = sha1;
  }

  /** The newest copy's sequence number and body checksum (what a delta of it names). */
  get newest(): { readonly seq: number; readonly sha1: string } {
    return { seq: this.#seq, sha1: this.#sha1 };
  }

  get files(): [string, string] {
    return [this.#file, this.#file + SECOND_COPY_SUFFIX];
  }

  /** Whether the newest copy is the second (`<file>.b`). */
  get newestIsSecond(): boolean {
    return this.#seq % 2 === 1;
  }

  /**
   * Writes the next copy over the older one. The first write of a process
   * writes both (the body is given twice over for it), so that neither
   * copy is older than this process's first save.
   */
  async write(content: () => SlotContent, mode = 0o600): Promise<void> {
    if (!this.#written) await this.#writeNext(content(), mode);
    await this.#writeNext(content(), mode);
    this.#written = true;
  }

  async #writeNext(content: SlotContent, mode: number): Promise<void> {
    const seq = this.#seq + 1;
    const target = this.files[seq % 2]!;
    const handle = await openInPlace(target, mode);
    let sha1 = '';
    try {
      const hash = createHash('sha1');
      const slices = new Slices();
      let at = 0;
      const put = async (text: string): Promise<void> => {
        const bytes = Buffer.from(text, 'utf8');
        await handle.write(bytes, 0, bytes.length, at);
        at += bytes.length;
      };
      await put(content.head);
      for (const piece of content.body) {
        hash.update(piece, 'utf8');
        await put(piece);
        await slices.pause();
      }
      sha1 = hash.digest('hex');
      await put(`,"seq":${seq},"sha1":"${sha1}"}`);
      // Last: a copy cut short above still has its old end, and no valid hash.
      await handle.truncate(at);
    } finally {
      await handle.close();
    }
    this.#seq = seq;
    this.#sha1 = sha1;
    this.#dirty.add(target);
  }

  /** Makes both copies durable (at stop, and after a checkpoint). */
  sync(): Promise<void> {
    return syncFiles(this.#dirty);
  }
}

/** A file opened for writing over in place, created if it is not there. */
export async function openInPlace(file: string, mode: number): Promise<FileHandle> {
  try {
    return await open(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return open(file, 'w', mode);
  }
}

/** Syncs each file written since the last sync, and forgets them. */
export async function syncFiles(dirty: Set<string>): Promise<void> {
  for (const file of dirty) {
    const handle = await open(file, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  dirty.clear();
}

/**
 * Checks a copy read back: its `seq` and `sha1` against `body`, the body
 * as written again from the parsed document. undefined when it checks out
 * or has neither (a file of the first release, written whole by rename),
 * else what is wrong.
 */
export function slotProblem(
  raw: Record<string, unknown>,
  body: Iterable<string>,
): string | undefined {
  if (raw.seq === undefined && raw.sha1 === undefined) return undefined;
  if (typeof raw.seq !== 'number' || !Number.isInteger(raw.seq) || raw.seq < 1)
    return 'no valid "seq"';
  const hash = createHash('sha1');
  for (const piece of body) hash.update(piece, 'utf8');
  return raw.sha1 === hash.digest('hex') ? undefined : 'cut short (its checksum does not match)';
}
