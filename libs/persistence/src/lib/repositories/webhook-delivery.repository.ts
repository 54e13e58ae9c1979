import { type WebhookDelivery } from '@sandbox/domain';
import { type DataSource } from 'typeorm';

interface Row {
  id: string | number;
  execution_id: string;
  attempt: number;
  url: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  created_at: Date;
}

/** The log of webhook deliveries (table webhook_deliveries): a row per attempt, gone with its execution. */
export class WebhookDeliveryRepository {
  constructor(private readonly ds: DataSource) {}

  async record(d: Omit<WebhookDelivery, 'id' | 'createdAt'>): Promise<void> {
    await this.ds.query('INSERT INTO webhook_deliveries (execution_id, attempt, url, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)', [
      d.executionId,
      d.attempt,
      d.url,
      d.statusCode,
      d.error === null ? null : d.error.slice(0, 1024),
      Math.round(d.durationMs),
    ]);
  }

  /** An execution's deliveries, oldest first. */
  async list(executionId: string): Promise<WebhookDelivery[]> {
    const rows: Row[] = await this.ds.query(
      'SELECT id, execution_id, attempt, url, status_code, error, duration_ms, created_at FROM webhook_deliveries WHERE execution_id = ? ORDER BY id',
      [executionId],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      executionId: r.execution_id,
      attempt: r.attempt,
      url: r.url,
      statusCode: r.status_code,
      error: r.error,
      durationMs: r.duration_ms,
      createdAt: r.created_at,
    }));
  }
}
