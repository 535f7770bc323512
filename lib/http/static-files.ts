// The browser view's compiled scripts (dist/web, built from web/ by `npm
// run build`), read once into memory and served by name: the set of files
// is fixed at start, so no request path ever reaches the file system.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/web, next to dist/lib where this file runs from. */
export const WEB_DIST = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'web',
);

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=UTF-8',
  '.css': 'text/css; charset=UTF-8',
};

export interface StaticFile {
  readonly body: string;
  readonly type: string;
}

/** URL path under /static/ → file; empty if the browser code was not built. */
export function loadStaticFiles(root = WEB_DIST): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string, prefix: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full, `${prefix}${e.name}/`);
      else {
        const type = TYPES[path.extname(e.name)];
        if (type) files.set(`${prefix}${e.name}`, { body: readFileSync(full, 'utf8'), type });
      }
    }
  };
  walk(root, '');
  return files;
}
