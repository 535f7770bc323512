// The HTML shells of the browser view. They carry no data: the scripts
// (web/, served from /static/) ask the same JSON endpoints tests and
// scripts use, so the page can never show what the API does not say.
// Nothing is inline, neither script nor style: the policy the pages are
// served with (security-headers.ts) allows only files from this daemon.

/** The pages' stylesheet, served as /static/style.css. */
export const STYLE_CSS = `
body{font:14px/1.35 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;gap:1em;align-items:center;flex-wrap:wrap;padding:.5em 1em;background:#23313f;color:#eee}
header a{color:#9cf}header h1{font-size:1.1em;margin:0}
main{padding:.5em 1em}
table{border-collapse:collapse;background:#fff}
th,td{padding:2px 8px;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap}
th{cursor:pointer;user-select:none;background:#f0f0f0;position:sticky;top:0}
td.l,th.l{text-align:left}
tr.error td{background:#fde8e8;color:#8b0000;text-align:left}
tr.lossy td.loss{color:#c00;font-weight:600}
tr.down td:first-child a{color:#c00;font-weight:600}tr.down td:first-child a::before{content:"▼ "}
table.outages{margin-bottom:.6em}table.outages td{background:#fde8e8}
tr.dnsname td{background:#eef2f8;color:#234;font-size:.9em}
.status{margin-left:auto;font-size:.9em}
.msg{padding:.3em .6em;margin:.4em 0;border-radius:3px}
.msg.bad{background:#fde8e8;color:#8b0000}.msg.good{background:#e6f4e6;color:#145214}
.ranges button{margin-right:2px}.ranges button.on{background:#23313f;color:#fff}
canvas{display:block;background:#fff;border:1px solid #ddd;margin:.3em 0}
h2{font-size:1em;margin:1em 0 .2em}
.legend span{display:inline-block;margin-right:1em}
.key{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:3px}
.key.norecord{background:repeating-linear-gradient(135deg,#f1f1f1 0 3px,#c8c8c8 3px 4px)}
.small{font-size:.85em}.note{font-size:.85em;color:#666}
`;

export const STYLE_PATH = '/static/style.css';

function page(title: string, script: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${title}</title><link rel="stylesheet" href="${STYLE_PATH}"></head>
<body><noscript>This view needs JavaScript; <code>curl</code> this address for the plain table.</noscript>
<script type="module" src="/static/web/${script}"></script></body></html>
`;
}

export const OVERVIEW_HTML = page('netping', 'overview.js');
export const TARGET_HTML = page('netping target', 'target.js');

/** Whether a request for / comes from a browser: it names text/html in Accept. */
export function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /(^|[\s,])text\/html(\s*[;,]|\s*$)/i.test(accept);
}
