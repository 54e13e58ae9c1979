import { Inject, Injectable } from '@nestjs/common';
import { sessionPrefix } from '@sandbox/domain';
import { RetentionRepository } from '@sandbox/persistence';
import { QueueProducer } from '@sandbox/queue';
import { WORKSPACE_STORE, type WorkspaceStore } from '@sandbox/storage';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from '../reaper.config';
import { ReaperMetrics } from '../reaper.metrics';

export interface DataRetentionReport {
  readonly sessions: number;
  readonly executions: number;
  readonly objects: number;
  readonly idempotencyKeys: number;
  readonly nodes: number;
  readonly queues: number;
}

/**
 * Keeps what grows with use bounded, a batch per kind per tick (the next tick goes on): ended sessions
 * older than SESSION_RETENTION_DAYS with their executions and stored workspace, Idempotency-Keys older
 * than IDEMPOTENCY_KEY_TTL_HOURS, and the rows and Redis queues of nodes lost for
 * DEAD_NODE_RETENTION_HOURS (or queues whose node has no row and no worker). Every step is safe to
 * redo, so a tick cut short is finished by the next one.
 */
@Injectable()
export class DataRetentionService {
  constructor(
    @Inject(REAPER_CONFIG) private readonly config: ReaperConfig,
    @Inject(WORKSPACE_STORE) private readonly store: WorkspaceStore,
    private readonly retention: RetentionRepository,
    private readonly producer: QueueProducer,
    private readonly metrics: ReaperMetrics,
    @InjectPinoLogger(DataRetentionService.name) private readonly log: PinoLogger,
  ) {}

  async run(): Promise<DataRetentionReport> {
    const { sessions, executions, objects } = await this.endedSessions();
    const keys = await this.retention.forgetIdempotencyKeys(this.config.IDEMPOTENCY_KEY_TTL_HOURS, this.config.RETENTION_BATCH);
    const { nodes, queues } = await this.deadNodes();
    const report = { sessions, executions, objects, idempotencyKeys: keys.sessions + keys.executions, nodes, queues };
    this.metrics.ran('data-retention');
    this.metrics.count('session', 'deleted', sessions);
    this.metrics.count('execution', 'deleted', executions);
    this.metrics.count('workspace_object', 'deleted', objects);
    this.metrics.count('idempotency_key', 'forgotten', report.idempotencyKeys);
    this.metrics.count('node', 'removed', nodes);
    this.metrics.count('node_queue', 'obliterated', queues);
    if (Object.values(report).some((n) => n > 0)) this.log.info({ ...report, retention_days: this.config.SESSION_RETENTION_DAYS }, 'retention deleted old data');
    return report;
  }

  /** The store's objects go first: a row never disappears while its workspace is still stored. */
  private async endedSessions(): Promise<{ sessions: number; executions: number; objects: number }> {
    const days = this.config.SESSION_RETENTION_DAYS;
    if (days === 0) return { sessions: 0, executions: 0, objects: 0 };
    const ended = await this.retention.endedSessions(days, this.config.RETENTION_BATCH);
    let objects = 0;
    for (const s of ended) if (s.workspacePath) objects += await this.store.deletePrefix(sessionPrefix(s.id));
    const deleted = await this.retention.deleteSessions(
      ended.map((s) => s.id),
      days,
      this.config.RETENTION_BATCH,
    );
    return { ...deleted, objects };
  }

  private async deadNodes(): Promise<{ nodes: number; queues: number }> {
    const hours = this.config.DEAD_NODE_RETENTION_HOURS;
    let nodes = 0;
    let queues = 0;
    for (const id of await this.retention.deadNodes(hours, this.config.RETENTION_BATCH)) {
      // the queue first: a row whose queue could not go is found again next tick
      if (!(await this.producer.obliterateNodeQueue(id))) continue;
      queues++;
      if (await this.retention.deleteNode(id, hours)) nodes++;
    }
    // queues left by nodes whose row is gone (removed by hand, or a queue made after the row went)
    const withQueue = (await this.producer.nodeQueueIds()).slice(0, this.config.RETENTION_BATCH);
    const known = await this.retention.knownNodes(withQueue);
    for (const id of withQueue.filter((n) => !known.has(n))) if (await this.producer.obliterateNodeQueue(id)) queues++;
    return { nodes, queues };
  }
}
