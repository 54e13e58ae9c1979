import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../../..');
const PROMETHEUS = join(ROOT, 'docker/prometheus');
const ALERTMANAGER = join(ROOT, 'docker/alertmanager/alertmanager.yml');
const DASHBOARDS = join(ROOT, 'docker/grafana/dashboards');
const ALERTS = readFileSync(join(PROMETHEUS, 'alerts.yml'), 'utf8');
/** Each alert of alerts.yml with its own text (up to the next alert). */
const ALERT_RULES = [...ALERTS.matchAll(/- alert: (\w+)\n([\s\S]*?)(?=\n\s*- alert: |\n\s*- name: |$)/g)].map((m) => ({ name: m[1]!, text: m[2]! }));
/** The runbook's four parts (docs/runbooks/README.md). */
const RUNBOOK_SECTIONS = ['## What it means', '## How to confirm', '## What to do', '## How to verify'];

/** docker-compose.yml as Compose resolves it (Compose v1 is Python: its YAML module is there too). */
function composeConfig(): { services: Record<string, Record<string, unknown>> } {
  const yaml = execFileSync('docker-compose', ['-f', join(ROOT, 'docker/docker-compose.yml'), 'config'], { encoding: 'utf8' });
  return JSON.parse(execFileSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: yaml, encoding: 'utf8' }));
}

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

describe('deployment files: Prometheus, Alertmanager, compose and Grafana', () => {
  const known = exportedMetrics();

  it('has a scrape config promtool accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prom-'));
    try {
      for (const f of ['prometheus.yml', 'alerts.yml']) copyFileSync(join(PROMETHEUS, f), join(dir, f));
      mkdirSync(join(dir, 'keys'));
      writeFileSync(join(dir, 'keys/api-key'), 'sbx_0000000000000000000000000000000000000000\n');
      expect(execFileSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' })).toMatch(/SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has alert rules promtool accepts, on metrics the platform exports', () => {
    expect(execFileSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: PROMETHEUS, encoding: 'utf8' })).toMatch(/SUCCESS: 16 rules found/);
    expect(ALERT_RULES.map((a) => a.name)).toEqual([
      ...['ControlPlaneDown', 'AgentOffline', 'TaskStuck', 'HighErrorRate', 'HighLatency', 'QueueBacklog', 'CapacityExhausted', 'WarmPoolEmpty', 'RedisDown', 'DatabaseDown'],
      ...['NodeDown', 'HighCPU', 'HighMemory', 'DiskSpaceLow', 'DiskSpaceCritical', 'DatabaseConnectionsHigh'],
    ]);
    for (const m of metricsIn(ALERTS)) expect([m, known.has(m)]).toEqual([m, true]);
  });

  it('gives every alert a severity the routes know and a runbook that exists, with its four sections', () => {
    for (const { name, text } of ALERT_RULES) {
      expect([name, /severity: (critical|warning)\b/.test(text)]).toEqual([name, true]);
      const url = /runbook_url: '(docs\/runbooks\/[a-z-]+\.md)'/.exec(text)?.[1];
      expect([name, url && existsSync(join(ROOT, url))]).toEqual([name, true]);
      const page = readFileSync(join(ROOT, url!), 'utf8');
      expect([url, RUNBOOK_SECTIONS.filter((s) => !page.includes(`\n${s}\n`))]).toEqual([url, []]);
    }
  });

  it('fires the platform and host alerts in the promtool rule unit tests', () => {
    const out = execFileSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: PROMETHEUS, encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
    const tests = readFileSync(join(PROMETHEUS, 'alerts.test.yml'), 'utf8');
    for (const name of ['AgentOffline', 'TaskStuck', 'RedisDown', 'CapacityExhausted', 'QueueBacklog', 'NodeDown', 'HighCPU', 'HighMemory', 'DiskSpaceLow', 'DiskSpaceCritical', 'DatabaseConnectionsHigh']) {
      expect(tests).toContain(`alertname: ${name}`);
    }
  });

  it('routes alerts by severity in an Alertmanager config amtool accepts; inhibit rules name real alerts', () => {
    expect(execFileSync('amtool', ['check-config', ALERTMANAGER], { encoding: 'utf8' })).toMatch(/SUCCESS[\s\S]*5 inhibit rules/);
    const route = (...labels: string[]) => execFileSync('amtool', ['config', 'routes', 'test', `--config.file=${ALERTMANAGER}`, ...labels], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    expect([route('alertname=NodeDown', 'severity=critical'), route('alertname=HighCPU', 'severity=warning'), route('alertname=Other')]).toEqual(['pager', 'chat', 'chat']);
    const names = new Set(ALERT_RULES.map((a) => a.name));
    const config = readFileSync(ALERTMANAGER, 'utf8');
    const inhibited = [...config.matchAll(/alertname=~?\\?"([A-Za-z|]+)\\?"/g)].flatMap((m) => m[1]!.split('|'));
    expect(inhibited.length).toBeGreaterThan(10);
    for (const n of inhibited) expect([n, names.has(n)]).toEqual([n, true]);
  });

  it('compose: every service restarts, has a healthcheck and limits; scaled agents get their own NODE_ID; every scrape target is a service', () => {
    const { services } = composeConfig();
    const running = Object.entries(services).filter(([, s]) => !s['profiles']);
    // one-shot steps (schema migrations, the sandbox images a plain `up` builds) run to the end once:
    // limits, but no restart and no healthcheck
    const oneShot = new Set(['migrate', 'scrape-key', 'sandbox-python-basic', 'sandbox-nodejs-basic', 'sandbox-python-datascience', 'sandbox-gcc']);
    for (const [name, s] of running) {
      const restart = oneShot.has(name) ? 'no' : name === 'runtime-agent' ? 'on-failure' : 'unless-stopped';
      expect([name, Boolean(s['healthcheck']), s['restart'], Boolean(s['mem_limit']), Boolean(s['cpus'])]).toEqual([name, !oneShot.has(name), restart, true, true]);
    }
    expect(services['runtime-agent']!['environment']).not.toHaveProperty('NODE_ID');
    // the agents start once every sandbox image is built; every app sends its spans to the collector
    expect(Object.keys(services['runtime-agent']!['depends_on'] as object)).toEqual(expect.arrayContaining([...oneShot].filter((s) => s.startsWith('sandbox-'))));
    for (const app of ['control-plane', 'runtime-agent', 'reaper']) {
      expect([app, (services[app]!['environment'] as Record<string, string>)['OTEL_EXPORTER_OTLP_ENDPOINT']]).toEqual([app, 'http://otel-collector:4318']);
    }
    const prometheus = readFileSync(join(PROMETHEUS, 'prometheus.yml'), 'utf8');
    const hosts = [...prometheus.matchAll(/targets: \['([a-z-]+):\d+'\]|names: \[([a-z-]+)\]/g)].map((m) => m[1] ?? m[2]!);
    expect(hosts).toContain('runtime-agent');
    for (const h of hosts) expect([h, h in services]).toEqual([h, true]);
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
