import { Inject, Injectable } from '@nestjs/common';
import { RuntimeNodeRepository } from '@sandbox/persistence';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { NodeBudgetService } from './node-budget.service';

// after a failed write, the next try (a change comes first, or this timer does)
const RETRY_MS = 1000;

/**
 * Keeps the node's row showing its budget and free capacity (the API's admission reads them): written
 * at registration and after every change, coalesced (one write in flight; changes meanwhile make one
 * more with the latest numbers).
 */
@Injectable()
export class CapacityReportService {
  private writing: Promise<void> | null = null;
  private dirty = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly budget: NodeBudgetService,
    private readonly nodes: RuntimeNodeRepository,
    @InjectPinoLogger(CapacityReportService.name) private readonly log: PinoLogger,
  ) {
    budget.onChange(() => void this.report());
  }

  /** Writes the current numbers (now, or right after the write in flight); resolves when written or failed. */
  report(): Promise<void> {
    if (this.writing) {
      this.dirty = true;
      return this.writing;
    }
    this.writing = (async () => {
      do {
        this.dirty = false;
        try {
          await this.nodes.reportCapacity(this.config.NODE_ID, this.budget.snapshot());
        } catch (e) {
          this.log.warn({ err: e }, 'cannot report the free capacity yet');
          this.retry ??= setTimeout(() => {
            this.retry = null;
            void this.report();
          }, RETRY_MS).unref();
          return;
        }
      } while (this.dirty);
    })().finally(() => (this.writing = null));
    return this.writing;
  }
}
