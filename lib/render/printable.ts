const TERMINAL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A name as it may be shown on a terminal or in a plaintext page: unchanged
 * unless it holds characters a terminal would act on, then JSON-quoted.
 */
export function printable(text: string): string {
  return TERMINAL_CONTROL.test(text) ? JSON.stringify(text) : text;
}
