import { randomBytes } from 'node:crypto';
import { agentConfigSchema } from '@sandbox/config';
import { type Session, type Template } from '@sandbox/domain';
import { type TemplateRepository } from '@sandbox/persistence';
import { DockerRuntime } from '@sandbox/runtime';
import { until } from '@sandbox/testing';
import { PinoLogger } from 'nestjs-pino';
import { footprintOf, NodeBudgetService } from '../capacity/node-budget.service';
import { AgentMetrics } from '../metrics/agent.metrics';
import { sandboxSpec } from '../sandbox-spec.factory';
import { TemplateCatalogService } from '../template-catalog.service';
import { WarmPoolService } from './warm-pool.service';

const MiB = 2 ** 20;
// python-basic as the seed has it
const template: Template = {
  id: 'python-basic',
  name: 'Python Basic',
  image: 'sandbox-python:3.11-basic',
  baseImage: null,
  language: 'python',
  preInstalledPackages: [],
  defaultResources: { cpu: '1', memory: '512Mi', disk: '1Gi' },
  securityContext: null,
  limits: {},
  runtimes: null,
  createdAt: new Date(),
  updatedAt: new Date(),
};

/** The warm pool on the real engine: what it takes back, and the budget its containers hold. */
describe('warm pool on Docker', () => {
  const nodeId = `itest-pool-${randomBytes(3).toString('hex')}`;
  // room for one python-basic container (1648 MiB with its tmpfs, shm and overhead), not two
  const config = agentConfigSchema.parse({
    DATABASE_URL: 'mysql://u:p@127.0.0.1/db',
    REDIS_URL: 'redis://127.0.0.1:6379',
    NODE_ID: nodeId,
    WARM_POOL: 'python-basic=1',
    AGENT_MEMORY_BYTES: String(1700 * MiB),
  });
  const runtime = new DockerRuntime({ socketPath: config.DOCKER_SOCKET, executorGraceMs: 3000 });
  const recorded: unknown[] = [];
  const repository = {
    findByIdCached: async (id: string) => (id === template.id ? template : null),
    recordRuntimes: async (id: string, runtimes: object) => recorded.push({ id, ...runtimes }) > 0,
  };
  const templates = new TemplateCatalogService(repository as unknown as TemplateRepository, new PinoLogger({ pinoHttp: { level: 'silent' } }));
  let budget: NodeBudgetService;
  let pool: WarmPoolService;
  const containers = async () => (await runtime.list(nodeId)).map((c) => c.containerId);

  beforeAll(async () => {
    const metrics = new AgentMetrics(config);
    budget = new NodeBudgetService(config, metrics);
    pool = new WarmPoolService(config, runtime, templates, budget, metrics, new PinoLogger({ pinoHttp: { level: 'silent' } }));
  });

  afterAll(async () => {
    await pool?.drain();
    for (const id of await containers()) await runtime.remove(id);
  });

  it("removes a cold container started to a session's own limits instead of pooling it", async () => {
    const session = { id: 'sess_cold', resources: { cpu: '1', memory: '256Mi', disk: '1Gi' } } as Session;
    const spec = sandboxSpec(config, template, session);
    const hold = budget.tryHold(footprintOf(spec), true)!;
    const sandbox = await runtime.create(spec);
    await pool.release({ sandbox, hold });
    expect(pool.size('python-basic')).toBe(0);
    expect(await containers()).not.toContain(sandbox.containerId);
    expect(budget.snapshot().freeMemoryBytes).toBe(1700 * MiB);
  });

  it('takes back a warm container it handed out, its budget held by the pool again', async () => {
    await pool.fillAll();
    expect(pool.size('python-basic')).toBe(1);
    // the first container of the image said what it runs, probed when the image was built
    expect(recorded).toEqual([
      {
        id: 'python-basic',
        image: 'sandbox-python:3.11-basic',
        languages: [
          { language: 'python', version: expect.stringMatching(/^3\.11\.\d+$/), runtime: 'CPython' },
          { language: 'bash', version: expect.stringMatching(/^5\.\d+\.\d+$/), runtime: 'GNU Bash' },
        ],
      },
    ]);
    const warm = pool.take(template)!;
    expect(budget.snapshot().freeSessions).toBe(0);
    // the refill found no room for a second container: the session holds the only one
    await pool.fillAll();
    expect(pool.size('python-basic')).toBe(0);
    await pool.release(warm);
    expect(pool.size('python-basic')).toBe(1);
    expect(pool.containerIds()).toEqual([warm.sandbox.containerId]);
    expect(budget.snapshot().freeSessions).toBe(1);
  });

  it('gives up an idle warm container for a session that needs its room', async () => {
    expect(pool.size('python-basic')).toBe(1);
    const f = footprintOf(sandboxSpec(config, template));
    expect(budget.tryHold(f, true)).toBeNull();
    expect(await pool.evictOne()).toBe(true);
    const hold = budget.tryHold(f, true);
    expect(hold).not.toBeNull();
    expect(await containers()).toEqual([]);
    hold!.release();
  });

  it('refills after a claim once the claimed container is gone and its room is free again', async () => {
    await pool.fillAll();
    const claimed = pool.take(template)!;
    // the session ends: its container removed, its share given back
    claimed.sandbox.detach();
    await runtime.remove(claimed.sandbox.containerId);
    claimed.hold.release();
    const refilled = await until('the pool refilled', async () => pool.size('python-basic') === 1 && pool.containerIds());
    expect(refilled).not.toContain(claimed.sandbox.containerId);
    expect(await containers()).toEqual(refilled);
  });
});
