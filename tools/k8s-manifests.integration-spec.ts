// k8s/ rendered by kustomize (tools/kustomize-install.sh builds it once) and checked offline: what every
// overlay must hold whatever the cluster (hardening, probes, scaling, disruption budgets, network
// policies, where each Secret and ConfigMap comes from), and each app's env against its config schema.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentConfigSchema, controlPlaneConfigSchema, loadConfig, reaperConfigSchema } from '@sandbox/config';

const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SYSTEM = 'sandbox-system';
const SANDBOXES = 'sandbox-sandboxes';
/** The Secrets the operator makes (README.md, "Kubernetes"): referenced, never rendered, outside dev. */
const OPERATOR_SECRETS = ['sandbox-secrets', 'sandbox-admin-key'];
/** The platform's processes: the only clients of MariaDB, Redis and S3. */
const PLATFORM = ['control-plane', 'reaper', 'runtime-agent', 'migrate'];

// a loose view of the objects: the checks below say what they expect of each field
type Obj = any;
type Selector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };

let kustomize: string;

function render(dir: string): Obj[] {
  const yaml = execFileSync(kustomize, ['build', join(ROOT, 'k8s', dir)], { encoding: 'utf8' });
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))'], { input: yaml, encoding: 'utf8' });
  return JSON.parse(json);
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];
const workloads = (objs: Obj[]) => objs.filter((o) => WORKLOADS.includes(o.kind));
const find = (objs: Obj[], kind: string, name: string): Obj => {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the render`);
  return found;
};
const containersOf = (w: Obj): Obj[] => [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers];
const envOf = (c: Obj, name: string): Obj => (c.env ?? []).find((e: Obj) => e.name === name);

function matches(selector: Selector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    if (e.operator === 'In') return e.values!.includes(labels[e.key]!);
    if (e.operator === 'Exists') return e.key in labels;
    throw new Error(`operator ${e.operator} not checked here`);
  });
  return byLabels && byExpressions;
}

/** Names of the pods (their app.kubernetes.io/name) of a namespace a selector takes. */
function selected(objs: Obj[], namespace: string, selector: Selector): string[] {
  return workloads(objs)
    .filter((w) => w.metadata.namespace === namespace && matches(selector, w.spec.template.metadata.labels))
    .map((w) => w.spec.template.metadata.labels['app.kubernetes.io/name'])
    .sort();
}

/** The env one container gets (ConfigMaps and Secrets of the render resolved), as the app reads it. */
function resolvedEnv(objs: Obj[], c: Obj): Record<string, string> {
  const data = (kind: string, name: string): Record<string, string> => {
    const o = find(objs, kind, name);
    return kind === 'Secret' ? Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()])) : o.data;
  };
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) Object.assign(env, from.configMapRef ? data('ConfigMap', from.configMapRef.name) : data('Secret', from.secretRef.name));
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom.fieldRef) env[e.name] = 'node-1';
    else if (e.valueFrom.secretKeyRef) {
      const { name, key, optional } = e.valueFrom.secretKeyRef;
      const secret = objs.some((o) => o.kind === 'Secret' && o.metadata.name === name) ? data('Secret', name) : {};
      if (key in secret) env[e.name] = secret[key]!;
      else if (!optional) throw new Error(`${c.name}: ${e.name} from Secret ${name} key ${key}, which is missing`);
    }
  }
  return env;
}

beforeAll(() => {
  kustomize = execFileSync('bash', [join(ROOT, 'tools/kustomize-install.sh')], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
}, 600_000);

describe.each([
  { overlay: 'dev', tag: 'dev', controlPlane: 1, reaper: 2 - 1, hpaMin: 1, hpaMax: 3 },
  { overlay: 'local', tag: 'local', controlPlane: 1, reaper: 2 - 1, hpaMin: 1, hpaMax: 3 },
  { overlay: 'production', tag: '0.1.0', controlPlane: 3, reaper: 2, hpaMin: 3, hpaMax: 10 },
])('k8s/overlays/$overlay', ({ overlay, tag, controlPlane, reaper, hpaMin, hpaMax }) => {
  let objs: Obj[];
  beforeAll(() => {
    objs = render(`overlays/${overlay}`);
  });

  it('puts everything in sandbox-system, and makes both namespaces', () => {
    expect(objs.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name).sort()).toEqual([SANDBOXES, SYSTEM]);
    const cluster = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'];
    const placed = objs.filter((o) => !cluster.includes(o.kind));
    // the sandboxes' namespace holds only their policies and the RBAC that lets agents manage them
    for (const o of placed.filter((o) => o.metadata.namespace === SANDBOXES)) expect(['NetworkPolicy', 'Role', 'RoleBinding']).toContain(o.kind);
    for (const o of placed.filter((o) => o.metadata.namespace !== SANDBOXES)) expect(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`).toBe(`${o.kind}/${o.metadata.name} in ${SYSTEM}`);
  });

  it('gives every container requests, limits and a non-root, locked-down securityContext', () => {
    expect(workloads(objs).length).toBeGreaterThanOrEqual(6);
    for (const w of workloads(objs)) {
      const pod = w.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.hostNetwork ?? false).toBe(false);
      // no Docker socket, no node's file: the kubernetes runtime talks to the API server
      expect((pod.volumes ?? []).filter((v: Obj) => v.hostPath)).toEqual([]);
      for (const c of containersOf(w)) {
        const where = `${w.kind}/${w.metadata.name} ${c.name}`;
        expect({ where, resources: c.resources }).toEqual({
          where,
          resources: { requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { cpu: expect.any(String), memory: expect.any(String) } },
        });
        expect({ where, sc: c.securityContext }).toEqual({
          where,
          sc: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        });
        expect({ where, pull: c.imagePullPolicy }).toEqual({ where, pull: 'IfNotPresent' });
      }
    }
  });

  it("runs the apps from this build's images, tagged by the overlay", () => {
    const images = new Set(workloads(objs).flatMap((w) => containersOf(w).map((c) => c.image as string)));
    const ours = [...images].filter((i) => i.startsWith('sandbox/')).sort();
    expect(ours).toEqual(['control-plane', 'migrate', 'reaper', 'runtime-agent'].map((n) => `sandbox/${n}:${tag}`));
    const job = find(objs, 'Job', 'migrate');
    expect(job.spec.template.spec.containers[0]).toMatchObject({ image: `sandbox/migrate:${tag}`, command: ['node', 'dist/tools/migrate.js'] });
  });

  it('probes every long-running container', () => {
    for (const w of workloads(objs).filter((w) => w.kind !== 'Job')) {
      for (const c of w.spec.template.spec.containers) {
        expect({ c: c.name, liveness: Boolean(c.livenessProbe), readiness: Boolean(c.readinessProbe) }).toEqual({ c: c.name, liveness: true, readiness: true });
      }
    }
    const cp = find(objs, 'Deployment', 'control-plane').spec.template.spec;
    expect(cp.containers[0].livenessProbe.httpGet.path).toBe('/health');
    expect(cp.containers[0].readinessProbe.httpGet.path).toBe('/ready');
    // the apps wait for MariaDB before they start
    for (const name of ['control-plane', 'reaper']) expect(find(objs, 'Deployment', name).spec.template.spec.initContainers[0].name).toBe('wait-for-mariadb');
    expect(find(objs, 'DaemonSet', 'runtime-agent').spec.template.spec.initContainers[0].name).toBe('wait-for-mariadb');
  });

  it('scales the control plane by CPU and memory, and keeps the reaper and databases as they should', () => {
    expect(find(objs, 'Deployment', 'control-plane').spec.replicas).toBe(controlPlane);
    expect(find(objs, 'Deployment', 'reaper').spec.replicas).toBe(reaper);
    const hpa = find(objs, 'HorizontalPodAutoscaler', 'control-plane').spec;
    expect(hpa).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'control-plane' },
      minReplicas: hpaMin,
      maxReplicas: hpaMax,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
      ],
    });
    const redis = find(objs, 'StatefulSet', 'redis');
    expect(redis.spec.template.spec.containers[0].args.join(' ')).toMatch(/--appendonly yes --appendfsync everysec --maxmemory-policy noeviction/);
    for (const name of ['mariadb', 'redis']) {
      const s = find(objs, 'StatefulSet', name);
      expect(s.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
      expect(find(objs, 'Service', s.spec.serviceName).spec.clusterIP).toBe('None');
    }
  });

  it('has a disruption budget for the control plane, the reaper and the agents, each selecting its pods', () => {
    const pdbs = objs.filter((o) => o.kind === 'PodDisruptionBudget');
    expect(pdbs.map((p) => [p.metadata.name, selected(objs, SYSTEM, p.spec.selector)]).sort()).toEqual([
      ['control-plane', ['control-plane']],
      ['reaper', ['reaper']],
      ['runtime-agent', ['runtime-agent']],
    ]);
    // one replica (dev) must still let a node drain
    for (const p of pdbs) expect(p.spec.maxUnavailable).toBe(1);
  });

  it('runs an agent on each labelled node, without a Docker socket, and drains it before it goes', () => {
    const ds = find(objs, 'DaemonSet', 'runtime-agent').spec.template.spec;
    expect(ds.nodeSelector).toEqual({ 'sandbox.dev/runtime': 'true' });
    expect(README).toContain('sandbox.dev/runtime=true');
    const agent = ds.containers[0];
    expect(envOf(agent, 'RUNTIME_MODE').value).toBe('kubernetes');
    expect(envOf(agent, 'NODE_ID').valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(envOf(agent, 'SANDBOX_NAMESPACE').value).toBe(SANDBOXES);
    const script = agent.lifecycle.preStop.exec.command.join(' ');
    expect(script).toMatch(/\/v1\/nodes\/\$\{process\.env\.NODE_ID\}\/drain/);
    const preStopMs = Number(/setTimeout\(done, ([\d_]+)\)/.exec(script)![1]!.replace(/_/g, ''));
    const drainMs = Number(envOf(agent, 'DRAIN_TIMEOUT_MS').value);
    // the preStop drain, then SIGTERM's drain of the running executions, then the agent's teardown
    expect(ds.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopMs + drainMs + 5000);
    expect(loadConfig(agentConfigSchema, resolvedEnv(withOperatorSecrets(objs), agent)).DRAIN_TIMEOUT_MS).toBe(drainMs);
  });

  it('gives the agents their sandbox pods and nodes, the control plane a read-only look, nothing more', () => {
    const role = objs.find((o) => o.kind === 'Role' && o.metadata.name === 'runtime-agent');
    expect(role.metadata.namespace).toBe(SANDBOXES);
    expect(role.rules.flatMap((r: Obj) => r.resources).sort()).toEqual(['pods', 'pods/attach', 'pods/exec', 'pods/log']);
    const binding = objs.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'runtime-agent');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'runtime-agent', namespace: SYSTEM }]);
    // the node's allocatable, and what the pods on it request: listed, never read or changed
    expect(find(objs, 'ClusterRole', 'sandbox-runtime-agent-nodes').rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);
    const cp = find(objs, 'ClusterRole', 'sandbox-control-plane');
    expect(cp.rules.flatMap((r: Obj) => r.verbs).sort()).toEqual(['get', 'list', 'watch']);
    expect(objs.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'sandbox-control-plane').metadata.namespace).toBe(SANDBOXES);
    for (const w of workloads(objs)) {
      const sa = w.spec.template.spec.serviceAccountName;
      if (!sa) expect({ w: w.metadata.name, automount: w.spec.template.spec.automountServiceAccountToken }).toEqual({ w: w.metadata.name, automount: false });
    }
  });

  it('lets nothing reach a sandbox but the agents, and sandboxes reach only the internet when their template allows', () => {
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === SANDBOXES);
    const deny = find(policies, 'NetworkPolicy', 'default-deny').spec;
    expect(deny).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const ingress = policies.filter((p) => p.spec.ingress);
    expect(ingress.map((p) => p.spec.ingress)).toEqual([
      [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': SYSTEM } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'runtime-agent' } } }] }],
    ]);
    const egress = policies.filter((p) => p.spec.egress);
    expect(egress).toHaveLength(1);
    expect(egress[0].spec.podSelector).toEqual({ matchLabels: { 'sandbox.dev/egress': 'allowed' } });
    const block = egress[0].spec.egress[0].to[0].ipBlock;
    expect(block.cidr).toBe('0.0.0.0/0');
    expect(block.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']));
    expect(egress[0].spec.egress[1].ports.map((p: Obj) => p.port)).toEqual([53, 53]);
    expect(README).toContain('sandbox.dev/egress=allowed');
  });

  it('lets only the platform reach MariaDB, Redis and S3', () => {
    const guarded = overlay !== 'production' ? ['mariadb', 'minio', 'redis'] : ['mariadb', 'redis'];
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === SYSTEM);
    expect(policies.map((p) => selected(objs, SYSTEM, p.spec.podSelector)).flat().sort()).toEqual(guarded);
    for (const p of policies) {
      const [rule, ...more] = p.spec.ingress;
      expect(more).toEqual([]);
      expect(p.spec.policyTypes).toEqual(['Ingress']);
      expect(selected(objs, SYSTEM, rule.from[0].podSelector)).toEqual([...PLATFORM].sort());
      // dev's MinIO: and client pods labelled for it (presigned URLs)
      expect(rule.from.slice(1)).toEqual(p.metadata.name === 'minio-ingress' ? [{ namespaceSelector: {}, podSelector: { matchLabels: { 'sandbox.dev/s3-client': 'true' } } }] : []);
    }
  });

  it('finds every Secret and ConfigMap it references in the render, or among the Secrets the operator makes', () => {
    const refs: { kind: string; name: string; key?: string; optional: boolean }[] = [];
    for (const w of workloads(objs)) {
      for (const c of containersOf(w)) {
        for (const f of c.envFrom ?? []) refs.push(f.configMapRef ? { kind: 'ConfigMap', name: f.configMapRef.name, optional: false } : { kind: 'Secret', name: f.secretRef.name, optional: false });
        for (const e of c.env ?? []) {
          const s = e.valueFrom?.secretKeyRef;
          const m = e.valueFrom?.configMapKeyRef;
          if (s) refs.push({ kind: 'Secret', name: s.name, key: s.key, optional: Boolean(s.optional) });
          if (m) refs.push({ kind: 'ConfigMap', name: m.name, key: m.key, optional: Boolean(m.optional) });
        }
      }
      for (const v of w.spec.template.spec.volumes ?? []) {
        if (v.secret) refs.push({ kind: 'Secret', name: v.secret.secretName, optional: Boolean(v.secret.optional) });
        if (v.configMap) refs.push({ kind: 'ConfigMap', name: v.configMap.name, optional: Boolean(v.configMap.optional) });
      }
    }
    const missing = refs.filter((r) => {
      const o = objs.find((x) => x.kind === r.kind && x.metadata.name === r.name);
      return !o || (r.key !== undefined && !(r.key in (o.data ?? {})));
    });
    // dev (and local, on it) generates sandbox-secrets; the admin key is made after the first start, everywhere
    const expected = overlay !== 'production' ? ['sandbox-admin-key'] : OPERATOR_SECRETS;
    expect([...new Set(missing.map((r) => `${r.kind}/${r.name}`))].sort()).toEqual(expected.map((n) => `Secret/${n}`).sort());
    for (const r of missing.filter((r) => r.name === 'sandbox-admin-key')) expect(r.optional).toBe(true);
    // the README lists every key of them the manifests read
    for (const r of missing) expect(README).toContain(r.key ? `\`${r.key}\`` : `\`${r.name}\``);
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'MARIADB_PASSWORD', 'MARIADB_ROOT_PASSWORD']) expect(README).toContain(`\`${key}\``);
  });

  it('gives each container only the Secret keys it uses: the MariaDB passwords reach MariaDB alone', () => {
    for (const w of workloads(objs)) {
      for (const c of containersOf(w)) {
        expect({ c: c.name, secretRefs: (c.envFrom ?? []).filter((f: Obj) => f.secretRef) }).toEqual({ c: c.name, secretRefs: [] });
        const keys = (c.env ?? []).map((e: Obj) => e.valueFrom?.secretKeyRef?.key).filter(Boolean);
        if (c.name !== 'mariadb') expect(keys.filter((k: string) => k.startsWith('MARIADB_'))).toEqual([]);
      }
    }
  });

  it('inlines no Secret data outside dev (and local), and marks dev values as such', () => {
    const secrets = objs.filter((o) => o.kind === 'Secret');
    if (overlay === 'production') return expect(secrets).toEqual([]);
    expect(secrets.map((s) => s.metadata.name)).toEqual(['sandbox-secrets']);
    for (const [key, value] of Object.entries(resolvedEnv(objs, { envFrom: [{ secretRef: { name: 'sandbox-secrets' } }] }))) {
      // local's s3rver takes its one fixed key
      if (overlay === 'local' && key.startsWith('S3_')) expect(value).toBe('S3RVER');
      else if (key.endsWith('PASSWORD') || key.endsWith('_KEY') || key.endsWith('_ID')) expect(value).toMatch(/^dev-only-/);
    }
  });

  it("gives every app an env its config schema accepts", () => {
    const app = (kind: string, name: string) => find(objs, kind, name).spec.template.spec.containers[0];
    const env = (c: Obj) => resolvedEnv(withOperatorSecrets(objs), c);
    expect(loadConfig(controlPlaneConfigSchema, env(app('Deployment', 'control-plane'))).PORT).toBe(8000);
    expect(loadConfig(reaperConfigSchema, env(app('Deployment', 'reaper'))).METRICS_HOST).toBe('0.0.0.0');
    expect(loadConfig(agentConfigSchema, env(app('DaemonSet', 'runtime-agent'))).RUNTIME_MODE).toBe('kubernetes');
  });

  it('has Prometheus scrape the annotated pods with the admin key, whatever their port', () => {
    const annotated = workloads(objs).filter((w) => w.spec.template.metadata.annotations?.['prometheus.io/scrape'] === 'true');
    expect(annotated.map((w) => w.metadata.name).sort()).toEqual(['control-plane', 'reaper', 'runtime-agent']);
    for (const w of annotated) {
      const ports = w.spec.template.spec.containers[0].ports.map((p: Obj) => String(p.containerPort));
      expect(ports).toContain(w.spec.template.metadata.annotations['prometheus.io/port']);
    }
    // Debian's promtool is built without Kubernetes discovery: the job is read as Prometheus reads it
    const yaml = find(objs, 'ConfigMap', 'prometheus-config').data['prometheus.yml'];
    const config = JSON.parse(execFileSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: yaml, encoding: 'utf8' }));
    const [job, ...others] = config.scrape_configs;
    expect(others).toEqual([]);
    expect(job.authorization).toEqual({ credentials_file: '/etc/prometheus/keys/api-key' });
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: [SYSTEM] } }]);
    const [keep, address, ...labels] = job.relabel_configs;
    expect(keep).toEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' });
    // the port annotation replaces the discovered port (RE2 and JavaScript agree on this pattern)
    const joined = `10.1.2.3:8080;${annotated[0].spec.template.metadata.annotations['prometheus.io/port']}`;
    expect(joined.replace(new RegExp(`^(?:${address.regex})$`), address.replacement)).toBe('10.1.2.3:8000');
    expect(labels.map((l: Obj) => l.target_label)).toEqual(['job', 'pod', 'node']);
    if (overlay !== 'production') {
      const prom = find(objs, 'Deployment', 'prometheus').spec.template.spec;
      expect(prom.volumes.find((v: Obj) => v.name === 'keys').secret).toEqual({ secretName: 'sandbox-admin-key', optional: true });
    }
  });
});

/** A render outside dev has no sandbox-secrets: the operator's, of the keys dev generates, stands in. */
function withOperatorSecrets(objs: Obj[]): Obj[] {
  return objs.some((o) => o.kind === 'Secret' && o.metadata.name === 'sandbox-secrets') ? objs : [...objs, find(render('overlays/dev'), 'Secret', 'sandbox-secrets')];
}

describe('k8s/base', () => {
  it('renders on its own, with no Secret in it', () => {
    const objs = render('base');
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(find(objs, 'Deployment', 'control-plane').spec.replicas).toBe(3);
    expect(find(objs, 'HorizontalPodAutoscaler', 'control-plane').spec).toMatchObject({ minReplicas: 3, maxReplicas: 10 });
  });
});
