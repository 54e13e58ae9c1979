import { randomBytes } from 'node:crypto';
import { type Duplex, type PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { type ContainerRuntime, LABELS, type Sandbox, type SandboxInfo, type SandboxSpec } from './container-runtime';
import { containerCreateOptions } from './container-options';
import { ensureEgressNetwork } from './egress-network';
import { answering, ExecutorClient, keptAlive } from './executor-client';

export interface DockerRuntimeOptions {
  readonly socketPath: string;
  /** Time an executor gets beyond a run's wall-time limit before its sandbox is declared lost. */
  readonly executorGraceMs: number;
  /** Time a new container gets to report ready. */
  readonly readyTimeoutMs?: number;
  /**
   * A container's executor exits after this long without a request (and Docker removes it): the bound
   * on containers of an agent that never comes back. Every sandbox this runtime holds is pinged four
   * times within it. Unset: no bound, no pings.
   */
  readonly orphanAfterSeconds?: number;
}

/** ContainerRuntime on the Docker Engine API (dockerode over the unix socket). */
export class DockerRuntime implements ContainerRuntime {
  readonly docker: Docker;
  private egress: Promise<void> | null = null;

  constructor(private readonly options: DockerRuntimeOptions) {
    this.docker = new Docker({ socketPath: options.socketPath });
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    if (spec.network) await this.egressReady();
    const name = `sandbox-${spec.nodeId}-${randomBytes(6).toString('hex')}`;
    const container = await this.docker.createContainer(containerCreateOptions(spec, name, this.options.orphanAfterSeconds));
    try {
      // attach before start, or the executor's `ready` line is gone before anyone listens
      const client = await this.attach(container.id, spec.templateId);
      const ready = client.ready(this.options.readyTimeoutMs ?? 15_000);
      await container.start();
      await ready;
      return keptAlive(client, this.options.orphanAfterSeconds);
    } catch (e) {
      await this.remove(container.id);
      throw e;
    }
  }

  async reattach(containerId: string, templateId: string): Promise<Sandbox> {
    return answering(await this.attach(containerId, templateId), 5000, this.options.orphanAfterSeconds);
  }

  async list(nodeId: string): Promise<SandboxInfo[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.managed}=true`, `${LABELS.node}=${nodeId}`] },
    });
    return containers.map((c) => ({
      containerId: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      labels: c.Labels,
      running: c.State === 'running',
      createdAt: c.Created,
    }));
  }

  async assign(containerId: string, sessionId: string): Promise<void> {
    // labels cannot change on a live container; the name can, and says whose it is in `docker ps`
    await this.docker.getContainer(containerId).rename({ name: `sandbox-${sessionId}` });
  }

  async remove(containerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerId).remove({ force: true, v: true });
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      // 404: already gone; 409: removal already in progress
      if (status !== 404 && status !== 409) throw e;
    }
  }

  /** The filtered egress network, set up once; a failure is retried by the next network sandbox. */
  private egressReady(): Promise<void> {
    this.egress ??= ensureEgressNetwork(this.docker).catch((e: Error) => {
      this.egress = null;
      throw new Error(`network-enabled sandboxes need the egress filter, which could not be set up: ${e.message}`);
    });
    return this.egress;
  }

  private async attach(containerId: string, templateId: string): Promise<ExecutorClient> {
    const stream = (await this.docker.getContainer(containerId).attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as Duplex;
    const demux = (s: Duplex, out: PassThrough, err: PassThrough) => this.docker.modem.demuxStream(s, out, err);
    const container = this.docker.getContainer(containerId);
    const pause = async (frozen: boolean) => {
      await (frozen ? container.pause() : container.unpause());
    };
    return new ExecutorClient(containerId, templateId, stream, demux, this.options.executorGraceMs, pause);
  }
}
