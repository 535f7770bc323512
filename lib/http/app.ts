// The HTTP surface as a value: tests call app.request(); only the daemon's
// entry point binds a socket. Every body that grows with the number of
// targets is produced in pieces and streamed in slices (slicing.ts), so that
// no reader, authenticated or not, holds the probes up; a few such bodies are
// made at once, readers who ask while one is made share it, and readers past
// a short queue are told to come back (heavy-body.ts).

import { Hono } from 'hono';
import { InvalidInputError, StoreUnavailableError } from '../errors.js';
import type { Log } from '../log.js';
import type { MeshState } from '../mesh/read.js';
import { meshJson, meshText, type MeshViewOptions } from '../mesh/views.js';
import { reportJson, type DaemonView, type TargetReport } from '../report.js';
import { summaryTablePieces } from '../render/summary-table.js';
import { addControlRoutes, type ControlDeps } from './control.js';
import { addEventRoutes, type EventsDeps } from './events-api.js';
import { addHistoryRoutes, type HistoryDeps } from './history-api.js';
import { addPathRoutes, type PathDeps } from './path-api.js';
import { OVERVIEW_HTML, STYLE_CSS, STYLE_PATH, TARGET_HTML, wantsHtml } from './pages.js';
import { securityHeaders } from './security-headers.js';
import { loadStaticFiles } from './static-files.js';
import { PROTOBUF_CONTENT_TYPE } from './metrics-proto.js';
import { negotiateExposition } from './negotiate.js';
import { BodyGate } from './body-gate.js';
import { heavyBodies, textChunks } from './heavy-body.js';
import { SharedRenders } from './shared-render.js';

export interface AppDeps {
  /** The daemon's state now, each target read when the page gets to it. */
  view: () => DaemonView | Promise<DaemonView>;
  /** The /metrics exposition in pieces. */
  metrics: () => AsyncIterable<string> | Iterable<string>;
  metricsContentType: string;
  /** The same as delimited protobuf, for scrapers that ask for it (lib/http/negotiate.ts). */
  protobufMetrics?: () => AsyncIterable<Uint8Array>;
  /** The control API; without it the app is read-only. */
  control?: ControlDeps;
  /** History for /api/history and the browser view; without it those are absent. */
  history?: HistoryDeps;
  /** The mesh matrix for /mesh and /api/mesh; without it (no --mesh) those are absent. */
  mesh?: {
    read: () => Promise<MeshState>;
    windowMs: number;
  };
  /** The outages for /api/events; without it that is absent. */
  events?: EventsDeps;
  /** The paths to the targets for /api/path; without it (no trace socket) that is absent. */
  path?: PathDeps;
  /** One live target's row of the report, by `name@address`, for /api/target. */
  target?: (key: string) => TargetReport | undefined;
  /** The bound on bodies made at once (its refused readers are counted there); a default one if absent. */
  gate?: BodyGate;
  log?: Log;
}

const TEXT = 'text/plain; charset=UTF-8';
const JSON_TYPE = 'application/json';

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const log = deps.log ?? (() => {});
  const heavy = heavyBodies(deps.gate ?? new BodyGate(), new SharedRenders(), log);
  app.use('*', securityHeaders);
  app.get('/', (c) => {
    c.header('Vary', 'Accept');
    // Browsers get the view; curl and scripts the table exactly as before.
    if (deps.history && wantsHtml(c.req.header('Accept'))) return c.html(OVERVIEW_HTML);
    return heavy(
      c,
      { page: '/', key: 'table', contentType: TEXT },
      textChunks(async function* () {
        yield* summaryTablePieces(await deps.view());
      }),
    );
  });
  if (deps.history) {
    addHistoryRoutes(app, deps.history, heavy);
    app.get('/target', (c) => c.html(TARGET_HTML));
    const files = loadStaticFiles();
    app.get(STYLE_PATH, (c) =>
      c.body(STYLE_CSS, 200, {
        'Content-Type': 'text/css; charset=UTF-8',
        'Cache-Control': 'no-cache',
      }),
    );
    app.get('/static/*', (c) => {
      const file = files.get(c.req.path.slice('/static/'.length));
      if (!file) return c.text('not found\n', 404);
      return c.body(file.body, 200, { 'Content-Type': file.type, 'Cache-Control': 'no-cache' });
    });
  }
  app.get('/metrics', (c) => {
    c.header('Vary', 'Accept');
    const protobuf = deps.protobufMetrics;
    const page = '/metrics';
    if (protobuf && negotiateExposition(c.req.header('Accept')) === 'protobuf') {
      // The encoder slices its own work (protobuf-exposition.ts).
      const request = { page, key: 'metrics:protobuf', contentType: PROTOBUF_CONTENT_TYPE };
      return heavy(c, request, protobuf);
    }
    const request = { page, key: 'metrics:text', contentType: deps.metricsContentType };
    return heavy(c, request, textChunks(deps.metrics));
  });
  app.get('/api/targets', (c) =>
    heavy(
      c,
      { page: '/api/targets', key: 'targets', contentType: JSON_TYPE },
      textChunks(async function* () {
        yield* reportJson(await deps.view());
      }),
    ),
  );
  const target = deps.target;
  if (target) {
    // The target page's one row, without the whole report.
    app.get('/api/target', (c) => {
      const key = c.req.query('target');
      if (!key) return c.json({ error: 'missing ?target=<name@address>' }, 400);
      const row = key.length <= 400 ? target(key) : undefined;
      if (!row)
        return c.json({ error: `${JSON.stringify(key.slice(0, 400))} is not probed now` }, 404);
      c.header('Cache-Control', 'no-store');
      return c.json({ generatedAt: new Date().toISOString(), target: row });
    });
  }
  const mesh = deps.mesh;
  if (mesh) {
    // A mesh is tens of instances, so its matrix is one small body.
    const options = (groupBy: string | undefined): MeshViewOptions => ({
      groupBy: groupBy === '' ? undefined : groupBy,
      windowMs: mesh.windowMs,
    });
    app.get('/mesh', async (c) => {
      const text = meshText(await mesh.read(), options(c.req.query('group-by')));
      return c.body(text, 200, { 'Content-Type': TEXT });
    });
    app.get('/api/mesh', async (c) =>
      c.json(meshJson(await mesh.read(), options(c.req.query('group-by')))),
    );
  }
  if (deps.events) addEventRoutes(app, deps.events);
  if (deps.path) addPathRoutes(app, deps.path);
  app.get('/healthz', (c) => c.text('ok\n'));
  if (deps.control) addControlRoutes(app, deps.control, heavy);
  app.notFound((c) => c.text('not found\n', 404));
  app.onError((err, c) => {
    if (err instanceof InvalidInputError) return c.text(`${err.message}\n`, 400);
    if (err instanceof StoreUnavailableError) return c.text(`${err.message}\n`, 503);
    log(`HTTP ${c.req.method} ${c.req.path} failed: ${err.message}`);
    return c.text('internal error\n', 500);
  });
  return app;
}
