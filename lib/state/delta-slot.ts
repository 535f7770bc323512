// The small file a save rewrites between two checkpoints of the statistics
// (lib/store/stats-journal.ts): two copies, `<file>` and `<file>.b`, written
// in turn, in place, as lib/state/slot-file.ts does for the checkpoints, so
// the kernel writes each back about every 30 s, whatever the number of saves
// in between, and a copy cut short (a power cut while it is written back)
// leaves the other, one save older. Binary:
//
//   "NPSD", format (1 byte), seq (float64 LE), the checkpoint's seq
//   (float64 LE) and SHA-1 (20 bytes), the body's length (uint32 LE), the
//   body, then the SHA-1 of all that came before it (20 bytes).

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setAside } from './json-file.js';
import { openInPlace, SECOND_COPY_SUFFIX, syncFiles } from './slot-file.js';

const MAGIC = 'NPSD';
const FORMAT = 1;
const HEAD_BYTES = 4 + 1 + 8 + 8 + 20 + 4;
const SUM_BYTES = 20;

export interface DeltaCopy {
  readonly seq: number;
  /** The checkpoint it belongs to. */
  readonly checkpoint: { readonly seq: number; readonly sha1: string };
  readonly body: Uint8Array;
}

export class DeltaSlot {
  readonly #file: string;
  #seq: number;
  readonly #dirty = new Set<string>();

  /** `seq` is the newest copy's, as read (0 for none). */
  constructor(file: string, seq: number) {
    this.#file = file;
    this.#seq = seq;
  }

  get files(): [string, string] {
    return [this.#file, this.#file + SECOND_COPY_SUFFIX];
  }

  /** Writes the next copy over the older one, in one write. */
  async write(
    checkpoint: { readonly seq: number; readonly sha1: string },
    body: Uint8Array,
  ): Promise<void> {
    const seq = this.#seq + 1;
    const target = this.files[seq % 2]!;
    const bytes = encodeCopy(seq, checkpoint, body);
    const handle = await openInPlace(target, 0o600);
    try {
      await handle.write(bytes, 0, bytes.length, 0);
      await handle.truncate(bytes.length);
    } finally {
      await handle.close();
    }
    this.#seq = seq;
    this.#dirty.add(target);
  }

  /** Makes both copies durable (at stop). */
  sync(): Promise<void> {
    return syncFiles(this.#dirty);
  }
}

export function encodeCopy(
  seq: number,
  checkpoint: { readonly seq: number; readonly sha1: string },
  body: Uint8Array,
): Buffer {
  const out = Buffer.alloc(HEAD_BYTES + body.length + SUM_BYTES);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt8(FORMAT, 4);
  out.writeDoubleLE(seq, 5);
  out.writeDoubleLE(checkpoint.seq, 13);
  Buffer.from(checkpoint.sha1.padEnd(40, '0').slice(0, 40), 'hex').copy(out, 21);
  out.writeUInt32LE(body.length, 41);
  out.set(body, HEAD_BYTES);
  createHash('sha1')
    .update(out.subarray(0, HEAD_BYTES + body.length))
    .digest()
    .copy(out, HEAD_BYTES + body.length);
  return out;
}

/** A copy read back, or what is wrong with it. */
export function decodeCopy(bytes: Uint8Array): DeltaCopy | string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length < HEAD_BYTES + SUM_BYTES || buf.toString('latin1', 0, 4) !== MAGIC)
    return 'not a netping statistics delta';
  if (buf.readUInt8(4) !== FORMAT) return `unknown format ${buf.readUInt8(4)}`;
  const length = buf.readUInt32LE(41);
  if (HEAD_BYTES + length + SUM_BYTES !== buf.length)
    return 'cut short (its length does not match)';
  const sum = createHash('sha1')
    .update(buf.subarray(0, HEAD_BYTES + length))
    .digest();
  if (!sum.equals(buf.subarray(HEAD_BYTES + length)))
    return 'cut short (its checksum does not match)';
  return {
    seq: buf.readDoubleLE(5),
    checkpoint: { seq: buf.readDoubleLE(13), sha1: buf.toString('hex', 21, 41) },
    body: buf.subarray(HEAD_BYTES, HEAD_BYTES + length),
  };
}

/**
 * Both copies that check out; one that does not is set aside with one log
 * line (the other, a save older, is still read).
 */
export async function readDeltaCopies(
  file: string,
  log: (line: string) => void,
): Promise<DeltaCopy[]> {
  const copies: DeltaCopy[] = [];
  for (const name of [file, file + SECOND_COPY_SUFFIX]) {
    let bytes: Buffer;
    try {
      bytes = await readFile(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const copy = decodeCopy(bytes);
    if (typeof copy !== 'string') {
      copies.push(copy);
      continue;
    }
    const aside = setAside(name);
    log(`${name} is damaged (${copy}): moved aside to ${aside}, reading the other copy`);
  }
  return copies;
}
