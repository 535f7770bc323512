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
