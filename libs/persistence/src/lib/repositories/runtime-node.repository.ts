import { type NodeStatus, type RuntimeNode } from '@sandbox/domain';
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
       VALUES (?, ?, ?, 'online', ?, 0, ?, NOW(), NOW())
       ON DUPLICATE KEY UPDATE hostname = VALUES(hostname), version = VALUES(version), status = 'online',
         capacity = VALUES(capacity), running = 0, labels = VALUES(labels), last_heartbeat_at = NOW(), started_at = NOW()`,
      [n.id, n.hostname, n.version, n.capacity, JSON.stringify(n.labels)],
    );
  }

  /** Stamps the heartbeat with the database clock; false when the row is gone. */
  async heartbeat(id: string, running: number): Promise<boolean> {
    const r = await this.repo.update({ id }, { running, lastHeartbeatAt: () => 'CURRENT_TIMESTAMP' });
    return r.affected === 1;
  }

  async setStatus(id: string, status: NodeStatus): Promise<void> {
    await this.repo.update({ id }, { status });
  }

  async findById(id: string): Promise<RuntimeNode | null> {
    const e = await this.repo.findOneBy({ id });
    return e ? toRuntimeNode(e) : null;
  }

  async findAll(): Promise<RuntimeNode[]> {
    return (await this.repo.find({ order: { id: 'ASC' } })).map(toRuntimeNode);
  }
}
