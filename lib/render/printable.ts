const TERMINAL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const TERMINAL_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** How much of an outside value a message quotes. */
export const QUOTE_MAX_CHARS = 60;

/**
 * A name as it may be shown on a terminal or in a plaintext page: unchanged
 * unless it holds characters a terminal would act on, then JSON-quoted.
 */
export function printable(text: string): string {
  return TERMINAL_CONTROL.test(text) ? quoted(text) : text;
}

/**
 * JSON string syntax, with DEL, the C1 controls (U+0080 to U+009F: U+009B is
 * a CSI to many terminals), U+2028 and U+2029 escaped too: JSON.stringify
 * leaves them raw, and terminals act on them or log viewers break lines at
 * them.
 */
export function quoted(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Characters (code points) in a string, as a terminal lays them out; no array is built. */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate and the low one after it are one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) i++;
    n++;
  }
  return n;
}

/**
 * An outside value as an error message quotes it: in single quotes, cut to
 * `maxChars` characters with '…', with JSON escapes for anything a terminal
 * would act on (and for quotes and backslashes, so the end of the quote is
 * plain to see).
 */
export function quoteInput(text: string, maxChars = QUOTE_MAX_CHARS): string {
  return `'${quoted(cutToChars(text, maxChars)).slice(1, -1)}'`;
}

/** The first `maxChars` characters of `text`, with '…' when it was longer; no surrogate pair is split. */
export function cutToChars(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let units = 0;
  for (let n = 0; n < maxChars && units < text.length; n++) {
    const unit = text.charCodeAt(units);
    units += unit >= 0xd800 && unit <= 0xdbff && units + 1 < text.length ? 2 : 1;
  }
  return units >= text.length ? text : `${text.slice(0, units)}…`;
}

/**
 * A line for a log or for stderr: its terminal controls (line breaks
 * included: one message, one line) written as JSON escapes, the rest as it
 * is. The last guard on the way out, for messages that carry text from
 * outside (an error from a library, a server, a file) no one quoted.
 */
export function printableLine(text: string): string {
  return TERMINAL_CONTROL.test(text)
    ? text.replace(TERMINAL_CONTROLS, (c) => quoted(c).slice(1, -1))
    : text;
}
