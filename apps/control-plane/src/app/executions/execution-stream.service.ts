import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { type Execution, isExecutionTerminal } from '@sandbox/domain';
import { ExecutionRepository } from '@sandbox/persistence';
import { ExecutionOutputFeed, type OutputEntry } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';
import { type ServerSentEvent } from '../http/server-sent-events';
import { executionToResponse } from './execution.dto';
import { ExecutionWaiterService } from './execution-waiter.service';

// entries read from the stream at once: a follower far behind catches up in pages
const PAGE = 256;

/**
 * `GET /v1/executions/:id/events` (and `POST …/executions?stream=true`): the execution as it is, its
 * output pieces as its agent appends them to Redis (`ExecutionOutputFeed`), then the stored result.
 * Any control plane serves any follower: the pieces are in Redis, the result in MariaDB. Pieces are
 * read only when the socket took the last ones, so a slow reader holds back nothing but itself.
 */
@Injectable()
export class ExecutionStreamService implements OnModuleInit, OnModuleDestroy {
  private feed!: ExecutionOutputFeed;

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly executions: ExecutionRepository,
    private readonly waiter: ExecutionWaiterService,
    @InjectPinoLogger(ExecutionStreamService.name) private readonly log: PinoLogger,
  ) {}

  onModuleInit(): void {
    this.feed = new ExecutionOutputFeed({ redisUrl: this.config.REDIS_URL, prefix: this.config.QUEUE_PREFIX });
    // it subscribes once Redis answers; until then followers poll
    this.feed.start().catch((e) => this.log.warn({ err: e }, 'output notifications not subscribed; followers poll'));
  }

  async onModuleDestroy(): Promise<void> {
    await this.feed.close();
  }

  /**
   * `execution` (as it is now), then `attempt`, `stdout` and `stderr` events after the entry
   * `after` (a Last-Event-ID), then `result` (the execution as GET gives it) once it is terminal.
   * Ends without a result when the client or this control plane goes: the client resumes anywhere.
   */
  async *events(execution: Execution, after: string | null, clientGone: AbortSignal): AsyncGenerator<ServerSentEvent> {
    const stop = AbortSignal.any([clientGone, this.waiter.stopping]);
    const stopped = new Promise<'stopped'>((resolve) => stop.addEventListener('abort', () => resolve('stopped'), { once: true }));
    yield { event: 'execution', data: executionToResponse(execution) };
    let current = execution;
    let reread = false;
    for (;;) {
      // listen before reading, so what is appended or ends between the reads and the wait wakes it
      const appended = this.feed.appended(execution.id);
      const finished = this.waiter.finishedEvent(execution.id);
      let timer: NodeJS.Timeout | undefined;
      try {
        if (reread) current = (await this.executions.findById(execution.id)) ?? current;
        // read after the row: every piece of a terminal execution was appended before its result was written
        for (let page = PAGE; page === PAGE && !stop.aborted; ) {
          const entries = await this.feed.read(execution.id, after, PAGE).catch(() => [] as OutputEntry[]);
          for (const e of entries) {
            yield e.kind === 'attempt' ? { event: 'attempt', id: e.id, data: { attempt: Number(e.data) } } : { event: e.kind, id: e.id, data: { data: e.data } };
            after = e.id;
          }
          page = entries.length;
        }
        if (stop.aborted) return;
        if (isExecutionTerminal(current.status)) {
          yield { event: 'result', data: executionToResponse(current) };
          return;
        }
        const poll = new Promise<'poll'>((resolve) => (timer = setTimeout(() => resolve('poll'), this.config.WAIT_POLL_MS)));
        const woken = await Promise.race([appended.promise.then(() => 'appended' as const), finished.promise.then(() => 'finished' as const), poll, stopped]);
        if (woken === 'stopped') return;
        // the row is read again only when it may have changed, not for every piece
        reread = woken !== 'appended';
      } finally {
        clearTimeout(timer);
        appended.cancel();
        finished.cancel();
      }
    }
  }
}
