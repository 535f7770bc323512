// Small DOM helpers: escaping for the HTML strings the table is built from,
// element lookup that fails loudly, and number formatting.

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Colours named in data-bg and data-fg attributes, set through the CSSOM:
 * the pages' policy (style-src 'self') refuses style attributes in HTML.
 */
export function applyColours(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>('[data-bg]').forEach((e) => {
    e.style.background = e.dataset.bg ?? '';
  });
  root.querySelectorAll<HTMLElement>('[data-fg]').forEach((e) => {
    e.style.color = e.dataset.fg ?? '';
  });
}

export function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`no #${id}`);
  return e as T;
}

export function ms(v: number | undefined | null, digits = 2): string {
  return v === undefined || v === null ? '-' : v.toFixed(digits);
}

export function pct(v: number | undefined | null): string {
  return v === undefined || v === null ? '-' : `${v.toFixed(2)}%`;
}

/** Shows a message under the header: bad ones stay until replaced. */
export function say(box: HTMLElement, text: string, good: boolean): void {
  box.textContent = text;
  box.className = `msg ${good ? 'good' : 'bad'}`;
  box.hidden = false;
}
