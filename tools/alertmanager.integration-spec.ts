// The inhibit rules of docker/alertmanager/alertmanager.yml on a real Alertmanager (Debian
// prometheus-alertmanager): alerts posted as Prometheus would, their state read back from its API.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until } from '@sandbox/testing';

const CONFIG = join(__dirname, '../docker/alertmanager/alertmanager.yml');

type AlertState = { labels: Record<string, string>; status: { state: 'active' | 'suppressed' | 'unprocessed'; inhibitedBy: string[] } };

describe('Alertmanager: inhibit rules', () => {
  let am: ChildProcess;
  let storage: string;
  let url: string;

  beforeAll(async () => {
    storage = mkdtempSync(join(tmpdir(), 'am-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}/api/v2/alerts`;
    // no cluster: a lone instance, nothing gossips with the machine's network
    am = spawn('prometheus-alertmanager', [`--config.file=${CONFIG}`, `--storage.path=${storage}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
    await until('Alertmanager up', async () => (await fetch(url).catch(() => null))?.ok);
  });
  afterAll(async () => {
    // it writes its snapshot while it stops: the folder goes once the process has
    if (am.exitCode === null && am.signalCode === null) {
      const exited = once(am, 'exit');
      am.kill();
      await exited;
    }
    rmSync(storage, { recursive: true, force: true });
  });

  /**
   * Posts the alerts (firing) and reads their states back until they are the expected ones or the
   * deadline passes (the inhibitor learns its source alerts asynchronously): the states last read.
   */
  async function fire(alerts: Record<string, string>[], expected: AlertState['status']['state'][]): Promise<string[]> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts.map((labels) => ({ labels }))) });
    expect(res.status).toBe(200);
    const key = (l: Record<string, string>) => Object.entries(l).sort().map(([k, v]) => `${k}=${v}`).join(',');
    let states: string[] = [];
    await until('the expected states', async () => {
      const got = new Map(((await (await fetch(url)).json()) as AlertState[]).map((a) => [key(a.labels), a.status.state]));
      states = alerts.map((l) => got.get(key(l)) ?? 'missing');
      return states.join() === expected.join();
    }).catch(() => undefined);
    return states;
  }

  it("NodeDown holds back that node's agent alerts, not another node's", async () => {
    const expected = ['active', 'suppressed', 'suppressed', 'active'] as const;
    const states = await fire(
      [
        { alertname: 'NodeDown', node: 'n1', severity: 'critical' },
        { alertname: 'AgentOffline', node: 'n1', severity: 'warning' },
        { alertname: 'WarmPoolEmpty', node: 'n1', template: 'python-basic', severity: 'warning' },
        { alertname: 'AgentOffline', node: 'n2', severity: 'warning' },
      ],
      [...expected],
    );
    expect(states).toEqual(expected);
  });

  it('DatabaseDown holds back the connection and stuck-task alerts; RedisDown the queue backlog', async () => {
    const expected = ['active', 'suppressed', 'suppressed', 'active', 'suppressed', 'active'] as const;
    const states = await fire(
      [
        { alertname: 'DatabaseDown', dependency: 'database', severity: 'critical' },
        { alertname: 'DatabaseConnectionsHigh', instance: 'mysqld-exporter:9104', severity: 'warning' },
        { alertname: 'TaskStuck', severity: 'warning' },
        { alertname: 'RedisDown', dependency: 'redis', severity: 'critical' },
        { alertname: 'QueueBacklog', queue: 'sandbox-shared', severity: 'warning' },
        { alertname: 'HighCPU', node: 'n3', severity: 'warning' },
      ],
      [...expected],
    );
    expect(states).toEqual(expected);
  });
});
