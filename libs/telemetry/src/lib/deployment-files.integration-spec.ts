import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../../..');
const PROMETHEUS = join(ROOT, 'docker/prometheus');
const DASHBOARDS = join(ROOT, 'docker/grafana/dashboards');

/** Every metric name the platform's code registers (`name: 'sandbox_…'`), plus prom-client's process metrics. */
function exportedMetrics(): Set<string> {
  const names = new Set<string>(['up']);
  const files = execFileSync('git', ['ls-files', 'apps/*/src/**.ts', 'libs/*/src/**.ts'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const f of files) {
    for (const m of readFileSync(join(ROOT, f), 'utf8').matchAll(/name: '((?:sandbox|http)_[a-z_]+)'|[gG]auge\('(sandbox_[a-z_]+)'/g)) names.add(m[1] ?? m[2]!);
  }
  return names;
}

/** The metric names a PromQL expression reads (histogram series mapped to their metric). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:sandbox|http|process)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''));
}

describe('deployment files: Prometheus and Grafana', () => {
  const known = exportedMetrics();

  it('has a scrape config promtool accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prom-'));
    try {
      for (const f of ['prometheus.yml', 'alerts.yml']) copyFileSync(join(PROMETHEUS, f), join(dir, f));
      writeFileSync(join(dir, 'api-key'), 'sbx_0000000000000000000000000000000000000000\n');
      expect(execFileSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' })).toMatch(/SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has alert rules promtool accepts, on metrics the platform exports', () => {
    expect(execFileSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: PROMETHEUS, encoding: 'utf8' })).toMatch(/SUCCESS: 10 rules found/);
    const alerts = readFileSync(join(PROMETHEUS, 'alerts.yml'), 'utf8');
    for (const name of ['AgentOffline', 'TaskStuck', 'HighErrorRate', 'HighLatency', 'QueueBacklog', 'CapacityExhausted', 'WarmPoolEmpty', 'RedisDown', 'DatabaseDown']) {
      expect(alerts).toContain(`alert: ${name}\n`);
    }
    for (const m of metricsIn(alerts)) expect([m, known.has(m)]).toEqual([m, true]);
  });

  it('fires AgentOffline, TaskStuck, RedisDown, CapacityExhausted and QueueBacklog in the promtool rule unit tests', () => {
    const out = execFileSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: PROMETHEUS, encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
    const tests = readFileSync(join(PROMETHEUS, 'alerts.test.yml'), 'utf8');
    for (const name of ['AgentOffline', 'TaskStuck', 'RedisDown', 'CapacityExhausted', 'QueueBacklog']) expect(tests).toContain(`alertname: ${name}`);
  });

  it.each(readdirSync(DASHBOARDS))('dashboard %s: Grafana JSON on the provisioned datasource, every query on an exported metric', (file) => {
    const d = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8'));
    expect(d).toMatchObject({ uid: file.replace(/\.json$/, ''), title: expect.stringMatching(/^Sandbox: /), schemaVersion: expect.any(Number) });
    expect(d.panels.length).toBeGreaterThanOrEqual(4);
    for (const panel of d.panels) {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
      for (const t of panel.targets) {
        expect(metricsIn(t.expr).length).toBeGreaterThan(0);
        for (const m of metricsIn(t.expr)) expect([panel.title, m, known.has(m) || m.startsWith('process_')]).toEqual([panel.title, m, true]);
      }
    }
  });
});
