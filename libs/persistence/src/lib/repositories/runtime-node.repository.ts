import { loseNode, type NodeCapacity, type NodeStatus, type RuntimeNode, type Transition } from '@sandbox/domain';
import { type DataSource, type Repository } from 'typeorm';
import { RuntimeNodeEntity } from '../entities/runtime-node.entity';
import { toRuntimeNode } from '../mappers';

export type NodeRegistration = Pick<RuntimeNode, 'id' | 'hostname' | 'version' | 'capacity' | 'labels'>;

export class RuntimeNodeRepository {
  private readonly repo: Repository<RuntimeNodeEntity>;

  constructor(private readonly ds: DataSource) {
    this.repo = ds.getRepository(RuntimeNodeEntity);
  }

  /** Registers the node as online, or brings its row back online after a restart. */
  async register(n: NodeRegistration): Promise<void> {
    await this.ds.query(
      `INSERT INTO runtime_nodes (id, hostname, version, status, capacity, running, labels, last_heartbeat_at, started_at)
       VALUES (?, ?, ?, 'online', ?, 0, ?, NOW(3), NOW())
       ON DUPLICATE KEY UPDATE hostname = VALUES(hostname), version = VALUES(version), status = 'online',
         capacity = VALUES(capacity), running = 0, labels = VALUES(labels), last_heartbeat_at = NOW(3), started_at = NOW()`,
      [n.id, n.hostname, n.version, n.capacity, JSON.stringify(n.labels)],
    );
  }

  /** What the node's budget is and what of it is free now (at registration and on every change). */
  async reportCapacity(id: string, c: NodeCapacity): Promise<void> {
    await this.repo.update(
      { id },
      { memoryBytes: c.memoryBytes, cpuNanos: c.cpuNanos, freeMemoryBytes: c.freeMemoryBytes, freeCpuNanos: c.freeCpuNanos, freeSessions: c.freeSessions },
    );
  }

  /**
   * Stamps the heartbeat with the database clock, unless the node was declared lost (`offline`): a node
   * that wakes up must not look alive again before it has fenced itself. Says what the row holds now.
   */
  async heartbeat(id: string, running: number): Promise<NodeStatus | 'missing'> {
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ running, lastHeartbeatAt: () => 'CURRENT_TIMESTAMP(3)' })
      .where('id = :id AND status <> :lost', { id, lost: loseNode.to })
      .execute();
    const row = await this.repo.findOne({ where: { id }, select: { id: true, status: true } });
    return row?.status ?? 'missing';
  }

  async setStatus(id: string, status: NodeStatus): Promise<void> {
    await this.repo.update({ id }, { status });
  }

  /** An operator's drain or undrain; false when the node was not in the transition's `from`. */
  async transition(id: string, t: Transition<NodeStatus>): Promise<boolean> {
    const r = await this.repo.createQueryBuilder().update().set({ status: t.to }).where('id = :id AND status IN (:...from)', { id, from: t.from }).execute();
    return r.affected === 1;
  }

  /** Declares lost the nodes whose heartbeat is older than `staleAfter` seconds; their ids. */
  async markLost(staleAfter: number): Promise<string[]> {
    const stale = 'status IN (?) AND (last_heartbeat_at IS NULL OR last_heartbeat_at < NOW(3) - INTERVAL ? SECOND)';
    const rows: { id: string }[] = await this.ds.query(`SELECT id FROM runtime_nodes WHERE ${stale}`, [loseNode.from, staleAfter]);
    const lost: string[] = [];
    for (const { id } of rows) {
      const r: { affectedRows: number } = await this.ds.query(`UPDATE runtime_nodes SET status = ? WHERE id = ? AND ${stale}`, [loseNode.to, id, loseNode.from, staleAfter]);
      if (r.affectedRows === 1) lost.push(id);
    }
    return lost;
  }

  /** Every node with its heartbeat age in seconds on the database clock (null: never beat). */
  async withAges(): Promise<(RuntimeNode & { heartbeatAge: number | null })[]> {
    const ages: { id: string; age: string | null }[] = await this.ds.query(
      'SELECT id, TIMESTAMPDIFF(MICROSECOND, last_heartbeat_at, NOW(6)) / 1e6 AS age FROM runtime_nodes',
    );
    const byId = new Map(ages.map((a) => [a.id, a.age === null ? null : Number(a.age)]));
    return (await this.findAll()).map((n) => ({ ...n, heartbeatAge: byId.get(n.id) ?? null }));
  }

  async findById(id: string): Promise<RuntimeNode | null> {
    const e = await this.repo.findOneBy({ id });
    return e ? toRuntimeNode(e) : null;
  }

  async findAll(): Promise<RuntimeNode[]> {
    return (await this.repo.find({ order: { id: 'ASC' } })).map(toRuntimeNode);
  }
}
