// Plain text columns, two spaces apart: the table at / and `npcli stats`.
// Widths count code points, as a terminal shows most names.

import { codePointLength } from './printable.js';

export interface Columns {
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** The first this many columns align left (names, addresses); the rest right (numbers). */
  readonly leftAligned: number;
  /** A line of dashes under the header. */
  readonly separator?: boolean;
  /** Shrink the first column, cutting its cells with '…', to keep lines within this width. */
  readonly maxWidth?: number;
}

/** The narrowest the first column is shrunk to by maxWidth. */
const MIN_FIRST_WIDTH = 8;

export function renderColumns(c: Columns): string[] {
  const widths = c.head.map((title, i) =>
    Math.max(codePointLength(title), ...c.rows.map((r) => codePointLength(r[i] ?? ''))),
  );
  const total = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  if (c.maxWidth !== undefined && total > c.maxWidth && widths[0]! > MIN_FIRST_WIDTH) {
    widths[0] = Math.max(MIN_FIRST_WIDTH, widths[0]! - (total - c.maxWidth));
  }
  const line = (cells: readonly string[]): string =>
    widths
      .map((width, i) => {
        const cell = cut(cells[i] ?? '', width);
        const pad = ' '.repeat(width - codePointLength(cell));
        return i < c.leftAligned ? cell + pad : pad + cell;
      })
      .join('  ')
      .trimEnd();
  const out = [line(c.head)];
  if (c.separator) out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of c.rows) out.push(line(r));
  return out;
}

function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : chars.slice(0, width - 1).join('') + '…';
}
