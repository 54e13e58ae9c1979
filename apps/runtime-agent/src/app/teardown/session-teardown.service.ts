import { Injectable } from '@nestjs/common';
import { ExecutionRunnerService } from '../executions/execution-runner.service';
import { SessionHostService } from '../sessions/session-host.service';

/**
 * Letting go of a session held here, always in this order: its running execution is cancelled (it
 * ends `failed` with the reason), its run loop settles, then its container is removed. Safe to call
 * for a session this node does not hold.
 */
@Injectable()
export class SessionTeardownService {
  constructor(
    private readonly runner: ExecutionRunnerService,
    private readonly host: SessionHostService,
  ) {}

  async tearDown(sessionId: string, reason: string): Promise<void> {
    this.runner.cancel(sessionId, reason);
    await this.runner.settle(sessionId);
    await this.host.release(sessionId);
  }
}
