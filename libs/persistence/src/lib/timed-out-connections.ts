import { type AfterQueryEvent, type EntitySubscriberInterface, EventSubscriber } from 'typeorm';

/**
 * mysql2 answers a query that timed out (`enableQueryTimeout`) but leaves it pending on its connection,
 * which goes back to the pool: every later query there waits behind it, and its own timeout starts only
 * when it reaches the wire. Behind a peer that vanished (a network cut after which this host has another
 * address) that is until TCP gives up, some 15 minutes. A connection whose query timed out is destroyed
 * instead, and the pool opens a fresh one for the next caller.
 */
@EventSubscriber()
export class DestroyTimedOutConnections implements EntitySubscriberInterface {
  /** Awaited by the query before it fails, so before its runner releases the connection. */
  async afterQuery(event: AfterQueryEvent): Promise<void> {
    if (event.success || event.error?.code !== 'PROTOCOL_SEQUENCE_TIMEOUT' || !event.queryRunner) return;
    // the runner's own connection (connect() hands back the one it holds)
    const connection: { destroy(): void } = await event.queryRunner.connect();
    connection.destroy();
  }
}
