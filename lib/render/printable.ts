const TERMINAL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A name as it may be shown on a terminal or in a plaintext page: unchanged
 * unless it holds characters a terminal would act on, then JSON-quoted.
 */
export function printable(text: string): string {
  return TERMINAL_CONTROL.test(text) ? quoted(text) : text;
}

/**
 * JSON string syntax, with U+2028 and U+2029 escaped too (JSON.stringify
 * leaves them raw, and some terminals and log viewers break lines at them).
 */
export function quoted(text: string): string {
  return JSON.stringify(text)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
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
