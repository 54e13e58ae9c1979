import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { type INestApplication } from '@nestjs/common';
import { RuntimeNodeRepository } from '@sandbox/persistence';
import { nodeQueueName, QueueProducer, REAPER_QUEUE, SHARED_QUEUE, WEBHOOKS_QUEUE } from '@sandbox/queue';
import { type NextFunction, type Request, type Response } from 'express';
import { ApiKeysService } from '../auth/api-keys.service';
import { ApiError } from '../http/api-error';

const QUEUE_BOARD_PATH = '/admin/queues';
// node queues come and go with their agents: the board's list is rebuilt this often
const REFRESH_MS = 5000;

/**
 * bull-board at /admin/queues for admin keys: the shared, reaper and every live node queue. Read-only:
 * jobs are doorbells carrying ids, the database holds the work, and a hand-retried doorbell adds nothing.
 */
export function mountQueueBoard(app: INestApplication): void {
  const producer = app.get(QueueProducer);
  const nodes = app.get(RuntimeNodeRepository);
  const keys = app.get(ApiKeysService);
  const server = new ExpressAdapter();
  server.setBasePath(QUEUE_BOARD_PATH);
  const board = createBullBoard({ queues: [], serverAdapter: server, options: { uiConfig: { boardTitle: 'Sandbox queues' } } });
  let refreshedAt = 0;

  const guard = async (req: Request, res: Response, next: NextFunction) => {
    try {
      await keys.authenticate(req.headers.authorization, true);
      if (Date.now() - refreshedAt > REFRESH_MS) {
        const live = (await nodes.withAges()).filter((n) => n.status !== 'offline').map((n) => nodeQueueName(n.id));
        board.replaceQueues([SHARED_QUEUE, REAPER_QUEUE, WEBHOOKS_QUEUE, ...live].map((name) => new BullMQAdapter(producer.queue(name), { readOnlyMode: true })));
        refreshedAt = Date.now();
      }
      next();
    } catch (e) {
      const error = e instanceof ApiError ? e : new ApiError(503, 'unavailable', 'the queue board cannot be shown now; retry shortly');
      res.status(error.getStatus()).set(error.headers).json(error.getResponse());
    }
  };
  app.use(QUEUE_BOARD_PATH, guard, server.getRouter());
}
