// The API token field in the header: entered once per tab, kept in
// sessionStorage (api.ts); changes made from the page send it.

import { setToken, token } from './api.js';
import { el } from './dom.js';

export const TOKEN_BOX_HTML = `<span id="tokenbox"></span>`;

export function mountTokenBox(onChange: () => void): void {
  const box = el('tokenbox');
  const draw = (): void => {
    if (token()) {
      box.innerHTML = `API token set for this tab <button id="forget">forget</button>`;
      el('forget').onclick = () => {
        setToken(undefined);
        draw();
        onChange();
      };
    } else {
      box.innerHTML = `<input id="token" type="password" placeholder="API token" size="18" autocomplete="off"> <button id="usetoken">use</button>`;
      const use = (): void => {
        const v = el<HTMLInputElement>('token').value.trim();
        if (!v) return;
        setToken(v);
        draw();
        onChange();
      };
      el('usetoken').onclick = use;
      el<HTMLInputElement>('token').onkeydown = (e) => {
        if (e.key === 'Enter') use();
      };
    }
  };
  draw();
}
