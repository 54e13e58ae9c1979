import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createTestStore, stackEnv, type TestStore } from '@sandbox/testing';
import { S3WorkspaceStore } from './s3-workspace-store';
import { listAll, StoreUnsupportedError } from './workspace-store';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One suite, both drivers: the real S3-compatible server of the stack, and a local directory. */
describe.each(['s3', 'fs'] as const)('WorkspaceStore (%s)', (driver) => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore(driver);
  });

  afterAll(async () => {
    await t?.drop();
  });

  it('answers a ping and names its prefixes by URI', async () => {
    await expect(t.store.ping()).resolves.toBeUndefined();
    expect(t.store.uri('sessions/s1/')).toMatch(driver === 's3' ? /^s3:\/\/t-[0-9a-f]+\/sessions\/s1\/$/ : /^file:\/\/\/.+\/sessions\/s1\/$/);
  });

  it('stores a buffer and gives back the same bytes, binary and non-UTF-8 included', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0xc3, 0x28, ...randomBytes(1000)]);
    const etag = await t.store.put('sessions/s1/bin/blob.dat', bytes, { contentType: 'application/octet-stream' });
    expect(etag).not.toBe('');
    const got = (await t.store.get('sessions/s1/bin/blob.dat'))!;
    expect(got.size).toBe(bytes.length);
    expect(got.etag).toBe(etag);
    expect(sha(await buffer(got.body))).toBe(sha(bytes));
    expect(await t.store.head('sessions/s1/bin/blob.dat')).toMatchObject({ size: bytes.length, etag });
  });

  it('streams a large object up in parts and down without changing a byte', async () => {
    const chunk = randomBytes(1 << 20);
    const parts = Array.from({ length: 20 }, (_, i) => Buffer.concat([chunk.subarray(i), chunk.subarray(0, i)]));
    const whole = Buffer.concat(parts);
    const etag = await t.store.put('sessions/s1/big.bin', Readable.from(parts));
    const got = (await t.store.get('sessions/s1/big.bin'))!;
    expect(got.size).toBe(whole.length);
    expect(got.etag).toBe(etag);
    expect(sha(await buffer(got.body))).toBe(sha(whole));
  });

  it('stores an empty object', async () => {
    await t.store.put('sessions/s1/empty', Buffer.alloc(0));
    expect((await t.store.head('sessions/s1/empty'))?.size).toBe(0);
  });

  it('gives a new etag when an object is replaced', async () => {
    const first = await t.store.put('sessions/s1/v.txt', Buffer.from('one'));
    await new Promise((r) => setTimeout(r, 5));
    const second = await t.store.put('sessions/s1/v.txt', Buffer.from('two!'));
    expect(second).not.toBe(first);
    expect((await t.store.head('sessions/s1/v.txt'))?.etag).toBe(second);
  });

  it('answers null for objects that do not exist', async () => {
    expect(await t.store.get('sessions/s1/nope')).toBeNull();
    expect(await t.store.head('sessions/s1/nope')).toBeNull();
  });

  it('lists exactly what is under a prefix, across pages', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `sessions/many/f${String(i).padStart(4, '0')}.txt`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => t.store.put(k, Buffer.from(k))));
    await t.store.put('sessions/many-other/x', Buffer.from('x'));
    await t.store.put('sessions/many/sub/dir/deep.txt', Buffer.from('deep'));
    const listed = await listAll(t.store, 'sessions/many/');
    expect(listed.map((o) => o.key).sort()).toEqual([...keys, 'sessions/many/sub/dir/deep.txt'].sort());
    expect(listed.find((o) => o.key === 'sessions/many/sub/dir/deep.txt')).toMatchObject({ size: 4 });
    expect(await listAll(t.store, 'sessions/none/')).toEqual([]);
  });

  it('deletes keys (missing ones are fine) and whole prefixes', async () => {
    await t.store.put('sessions/d/a', Buffer.from('a'));
    await t.store.put('sessions/d/b/c', Buffer.from('c'));
    await t.store.delete(['sessions/d/a', 'sessions/d/never']);
    expect((await listAll(t.store, 'sessions/d/')).map((o) => o.key)).toEqual(['sessions/d/b/c']);
    expect(await t.store.deletePrefix('sessions/many/')).toBe(1006);
    expect(await listAll(t.store, 'sessions/many/')).toEqual([]);
    expect((await listAll(t.store, 'sessions/many-other/')).length).toBe(1);
  });

  it('lists and reads objects whatever their name, ".part-" included', async () => {
    await t.store.put('sessions/parts/data.part-1', Buffer.from('one'));
    await t.store.put('sessions/parts/x.part-abc.txt', Buffer.from('two'));
    expect((await listAll(t.store, 'sessions/parts/')).map((o) => o.key).sort()).toEqual(['sessions/parts/data.part-1', 'sessions/parts/x.part-abc.txt']);
    expect((await buffer((await t.store.get('sessions/parts/data.part-1'))!.body)).toString()).toBe('one');
  });

  it('stops a put when its signal aborts: the put rejects and nothing is stored', async () => {
    const controller = new AbortController();
    const chunk = randomBytes(1 << 20);
    const body = Readable.from(
      (async function* () {
        for (let i = 0; i < 64; i++) {
          if (i === 12) controller.abort(new Error('sync bound reached'));
          yield chunk;
          await new Promise((r) => setTimeout(r, 5));
        }
      })(),
    );
    await expect(t.store.put('sessions/abort/big.bin', body, { signal: controller.signal })).rejects.toThrow();
    expect(await t.store.head('sessions/abort/big.bin')).toBeNull();
    expect(await t.store.abortStaleUploads('sessions/abort/', new Date(Date.now() + 60_000))).toBe(0);
  });

  if (driver === 's3') {
    it('presigns a GET that works without credentials', async () => {
      await t.store.put('sessions/s1/pub.txt', Buffer.from('presigned'));
      const url = await t.store.presignGet('sessions/s1/pub.txt', 60);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('presigned');
    });

    it('refuses wrong access keys (the server checks them)', async () => {
      const env = stackEnv();
      const bad = new S3WorkspaceStore({
        bucket: 'sandbox',
        region: 'us-east-1',
        endpoint: env.S3_ENDPOINT,
        forcePathStyle: true,
        credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' },
      });
      await expect(bad.put('x', Buffer.from('x'))).rejects.toThrow(/InvalidAccessKeyId|access key/i);
      bad.close();
    });
  } else {
    it('has no presigned URLs, and says so', async () => {
      await expect(t.store.presignGet('sessions/s1/pub.txt', 60)).rejects.toBeInstanceOf(StoreUnsupportedError);
    });

    it('removes the temporary files of puts that never finished, only once they are old', async () => {
      const parts = join(t.store.uri('').replace(/^file:\/\//, ''), '.parts');
      await mkdir(parts, { recursive: true });
      await writeFile(join(parts, 'crashed'), 'half an object');
      await writeFile(join(parts, 'writing'), 'being written');
      const old = new Date(Date.now() - 3_600_000);
      await utimes(join(parts, 'crashed'), old, old);
      expect(await t.store.abortStaleUploads('sessions/', new Date(Date.now() - 60_000))).toBe(1);
      expect((await readdir(parts)).sort()).toEqual(['writing']);
      await expect(t.store.put('.parts/x', Buffer.from('x'))).rejects.toThrow(/leave the store/);
    });

    it('refuses keys that would leave its directory', async () => {
      await expect(t.store.put('../escape', Buffer.from('x'))).rejects.toThrow(/leave the store/);
      await expect(t.store.get('sessions/../../etc/passwd')).rejects.toThrow(/leave the store/);
    });
  }
});
