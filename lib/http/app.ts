// The HTTP surface as a value: tests call app.request(); only the daemon's
// entry point binds a socket.

import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import type { DaemonReport } from '../report.js';
import { renderSummaryTable } from '../render/summary-table.js';
import { addControlRoutes, type ControlDeps } from './control.js';
import { PROTOBUF_CONTENT_TYPE } from './metrics-proto.js';
import { negotiateExposition } from './negotiate.js';

export interface AppDeps {
  report: () => DaemonReport;
  /** The /metrics exposition in chunks, streamed out with the event loop running between them. */
  metrics: () => AsyncIterable<string> | Iterable<string>;
  metricsContentType: string;
  /** The same as delimited protobuf, for scrapers that ask for it (lib/http/negotiate.ts). */
  protobufMetrics?: () => AsyncIterable<Uint8Array>;
  /** The control API; without it the app is read-only. */
  control?: ControlDeps;
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/', (c) => c.text(renderSummaryTable(deps.report())));
  app.get('/metrics', (c) => {
    c.header('Vary', 'Accept');
    const protobuf = deps.protobufMetrics;
    if (protobuf && negotiateExposition(c.req.header('Accept')) === 'protobuf') {
      c.header('Content-Type', PROTOBUF_CONTENT_TYPE);
      return stream(c, async (out) => {
        for await (const chunk of protobuf()) await out.write(chunk);
      });
    }
    c.header('Content-Type', deps.metricsContentType);
    return stream(c, async (out) => {
      for await (const chunk of deps.metrics()) await out.write(chunk);
    });
  });
  app.get('/api/targets', (c) => c.json(deps.report()));
  app.get('/healthz', (c) => c.text('ok\n'));
  if (deps.control) addControlRoutes(app, deps.control);
  app.notFound((c) => c.text('not found\n', 404));
  app.onError((err, c) => {
    console.error(`netpingd: HTTP ${c.req.method} ${c.req.path} failed: ${err.message}`);
    return c.text('internal error\n', 500);
  });
  return app;
}
