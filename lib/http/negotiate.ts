// Which exposition a /metrics request gets. Protobuf only to a client that
// names it, with its proto and encoding, at least as high in its preferences
// as any text type we serve (text/plain, text/*, */*): browsers, curl and
// text-only scrapers keep getting exactly the text they always got.
// Prometheus with native histograms sends e.g.
//   application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,
//   text/plain;version=0.0.4;q=0.3,*/*;q=0.2

export type Exposition = 'text' | 'protobuf';

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
}

function parseAccept(accept: string): MediaRange[] {
  return accept.split(',').map((item) => {
    const [type = '', ...rest] = item.split(';').map((s) => s.trim());
    const params = new Map<string, string>();
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0) {
        params.set(
          p.slice(0, eq).trim().toLowerCase(),
          p
            .slice(eq + 1)
            .trim()
            .replace(/^"|"$/g, ''),
        );
      }
    }
    const q = params.has('q') ? Number(params.get('q')) : 1;
    return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 };
  });
}

export function negotiateExposition(accept: string | undefined): Exposition {
  if (!accept) return 'text';
  let protobufQ = 0;
  let textQ = 0;
  for (const r of parseAccept(accept)) {
    if (
      r.type === 'application/vnd.google.protobuf' &&
      r.params.get('proto') === 'io.prometheus.client.MetricFamily' &&
      r.params.get('encoding') === 'delimited'
    ) {
      protobufQ = Math.max(protobufQ, r.q);
    } else if (r.type === 'text/plain' || r.type === 'text/*' || r.type === '*/*') {
      textQ = Math.max(textQ, r.q);
    }
  }
  return protobufQ > 0 && protobufQ >= textQ ? 'protobuf' : 'text';
}
