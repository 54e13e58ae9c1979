import { admitAtDoor } from './capacity';

describe('admitAtDoor', () => {
  const backlog = (over: Partial<Parameters<typeof admitAtDoor>[0]> = {}) => ({ waiting: 0, oldestWaitSeconds: 0, freeSessions: 10, nodes: 1, ...over });

  it('admits while the free capacity holds every waiting session and the new one', () => {
    expect(admitAtDoor(backlog({ waiting: 9, oldestWaitSeconds: 59 }), 60)).toEqual({ admit: true });
  });

  it('admits into a full fleet while the queue is young: sessions end all the time', () => {
    expect(admitAtDoor(backlog({ freeSessions: 0 }), 60)).toEqual({ admit: true });
    expect(admitAtDoor(backlog({ freeSessions: 0, waiting: 5, oldestWaitSeconds: 29.9 }), 60)).toEqual({ admit: true });
  });

  it('refuses once the head of the queue has waited half the timeout, until it gives up', () => {
    expect(admitAtDoor(backlog({ freeSessions: 2, waiting: 5, oldestWaitSeconds: 30 }), 60)).toEqual({
      admit: false,
      retryAfterSeconds: 30,
      reason: '5 sessions wait for a node (the oldest for 30 s) and the fleet has room for 2 more',
    });
    expect(admitAtDoor(backlog({ freeSessions: 0, waiting: 1, oldestWaitSeconds: 59.5 }), 60)).toMatchObject({ admit: false, retryAfterSeconds: 1 });
  });

  it('refuses when no node is online', () => {
    expect(admitAtDoor(backlog({ nodes: 0, freeSessions: 0 }), 60)).toEqual({ admit: false, retryAfterSeconds: 30, reason: 'no runtime node is online' });
  });
});
