import { KeyedMutex } from './keyed-mutex';

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
};

describe('KeyedMutex', () => {
  it('runs the callers of one key one at a time, in order, and of different keys at once', async () => {
    const locks = new KeyedMutex();
    const order: string[] = [];
    const first = gate();
    const a1 = locks.runExclusive('a', async () => {
      order.push('a1 start');
      await first.opened;
      order.push('a1 end');
    });
    const a2 = locks.runExclusive('a', async () => void order.push('a2'));
    await locks.runExclusive('b', async () => void order.push('b'));
    expect(order).toEqual(['a1 start', 'b']);
    first.open();
    await Promise.all([a1, a2]);
    expect(order).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
  });

  it('keeps an entry only while the key has a holder or a waiter', async () => {
    const locks = new KeyedMutex();
    for (let i = 0; i < 1000; i++) await locks.runExclusive(`session-${i}`, async () => i);
    expect(locks.size).toBe(0);
    const held = gate();
    const holder = locks.runExclusive('s', () => held.opened);
    const waiter = locks.runExclusive('s', async () => locks.size);
    expect(locks.size).toBe(1);
    held.open();
    // the waiter still ran under the same entry: it was not dropped while someone waited
    expect(await waiter).toBe(1);
    await holder;
    expect(locks.size).toBe(0);
  });

  it('drops the entry when the holder throws, and the error reaches the caller', async () => {
    const locks = new KeyedMutex();
    await expect(locks.runExclusive('s', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(locks.size).toBe(0);
    await expect(locks.runExclusive('s', async () => 'next')).resolves.toBe('next');
  });
});
