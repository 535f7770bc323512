// The Prometheus side an operator installs: alert rules (checked and unit
// tested by promtool) and the Grafana dashboard (every metric it queries must
// be one netpingd exports).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hasCommand, repoRoot, run } from '../support/ops-harness.js';
import { isExported, metricNamesIn } from '../support/exported-metrics.js';

const opsDir = path.join(repoRoot, 'docs', 'ops');
const rulesPath = path.join(opsDir, 'netping.rules.yml');
const rulesTestPath = path.join(opsDir, 'netping.rules.test.yml');
const dashboardPath = path.join(opsDir, 'grafana-dashboard.json');

void test('alert rules: promtool check rules', (t) => {
  if (!hasCommand('promtool'))
    return t.skip('promtool is not installed (apt-get install prometheus)');
  const r = run('promtool', ['check', 'rules', rulesPath]);
  assert.equal(r.status, 0, `promtool check rules:\n${r.stdout}${r.stderr}`);
});

void test('alert rules: promtool test rules', (t) => {
  if (!hasCommand('promtool'))
    return t.skip('promtool is not installed (apt-get install prometheus)');
  const r = run('promtool', ['test', 'rules', path.basename(rulesTestPath)], { cwd: opsDir });
  assert.equal(r.status, 0, `promtool test rules:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout + r.stderr, /SUCCESS/);
});

void test('alert rules: every alert the rules define has a unit test', () => {
  const rules = readFileSync(rulesPath, 'utf8');
  const tests = readFileSync(rulesTestPath, 'utf8');
  const alerts = [...rules.matchAll(/^\s*- alert: (\S+)/gm)].map((m) => m[1]);
  assert.ok(alerts.length >= 4, 'loss, latency, target down and daemon down at least');
  for (const alert of alerts) {
    assert.match(
      tests,
      new RegExp(`alertname: ${alert}\\n[\\s\\S]*?exp_alerts:\\n\\s+- exp_labels`),
      alert,
    );
  }
  for (const name of metricNamesIn(rules)) {
    assert.ok(isExported(name), `the rules use ${name}, which netpingd does not export`);
  }
});

/** Every PromQL string in a dashboard: panel targets' expr and query variables' queries. */
function queriesIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const item of node) queriesIn(item, out);
  } else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (
        (key === 'expr' || key === 'query' || key === 'definition') &&
        typeof value === 'string'
      ) {
        out.push(value);
      } else {
        queriesIn(value, out);
      }
    }
  }
  return out;
}

interface Dashboard {
  panels?: { title?: string; type?: string; targets?: { expr?: string }[] }[];
  templating?: { list?: { name?: string; type?: string }[] };
}

void test('Grafana dashboard: parses, and queries only metrics netpingd exports', () => {
  const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as Dashboard;
  const queries = queriesIn(dashboard);
  const mentioned = new Set(queries.flatMap(metricNamesIn));
  assert.ok(mentioned.size > 0, 'the dashboard queries some netping metric');
  for (const name of mentioned) {
    assert.ok(isExported(name), `the dashboard queries ${name}, which netpingd does not export`);
  }

  const variables = dashboard.templating?.list ?? [];
  assert.ok(
    variables.some((v) => v.name === 'target' && v.type === 'query'),
    'a $target template variable',
  );
  const exprs = (dashboard.panels ?? []).flatMap((p) => (p.targets ?? []).map((q) => q.expr ?? ''));
  // Per-target metrics follow the $target selection; daemon-wide ones do not.
  const perTarget = /netping_(sent|received|lost|late|duplicates|errors|rtt_seconds)/;
  assert.ok(
    variables.some((v) => v.name === 'probe' && v.type === 'query'),
    'a $probe template variable (icmp, tcp, udp)',
  );
  for (const expr of exprs.filter((e) => perTarget.test(e))) {
    assert.match(expr, /target=~"\$target"/, `a per-target query follows $target: ${expr}`);
    assert.match(expr, /probe=~"\$probe"/, `a per-target query follows $probe: ${expr}`);
    // A sum per target must keep the probe apart: the same host by ICMP and
    // by TCP is two series, whose rates and buckets must not be added.
    for (const [, labels] of expr.matchAll(/\bby \(([^)]*)\)/g)) {
      const names = labels!.split(',').map((l) => l.trim());
      if (names.includes('target'))
        assert.ok(
          names.includes('probe') && names.includes('port'),
          `by (${labels}) keeps probe and port: ${expr}`,
        );
    }
  }
  assert.ok(
    exprs.some((e) => e.includes('netping_received_by_reason_total')),
    'the unusual answers (tcp:refused) are on the dashboard',
  );
  const heatmap = (dashboard.panels ?? []).find((p) => p.type === 'heatmap');
  assert.ok(
    heatmap?.targets?.some((q) => q.expr?.includes('netping_rtt_seconds_bucket')),
    'a latency heatmap from netping_rtt_seconds_bucket',
  );
  for (const q of ['0.5', '0.95', '0.99']) {
    assert.ok(
      exprs.some((e) => e.includes(`histogram_quantile(${q},`)),
      `a p${q.slice(2)} quantile`,
    );
  }
  assert.ok(
    exprs.some((e) => /netping_lost_total[\s\S]*\/[\s\S]*netping_sent_total/.test(e)),
    'a loss ratio',
  );
});
