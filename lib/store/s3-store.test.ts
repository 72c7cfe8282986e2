/**
 * The s3:// store against a real S3-protocol server (s3rver in a child process,
 * test/helpers/s3-server.ts) and, for faults, the fault-injecting HTTP front in between
 * (test/helpers/flaky-http-proxy.ts). Objects are altered behind the store with the bare SDK.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AloftError } from '../errors/index.js';
import { createLogger } from '../logging/index.js';
import { retry } from '../retry/index.js';
import { startFlakyHttpProxy, type FlakyHttpProxy } from '../../test/helpers/flaky-http-proxy.js';
import {
  s3ServerAvailable,
  startS3Server,
  type S3Request,
  type S3TestServer,
} from '../../test/helpers/s3-server.js';
import {
  createS3Store,
  parsePegasusS3Config,
  parseS3Url,
  registerS3FromEnvironment,
  s3UrlOf,
  storeFor,
  type S3Store,
  type S3StoreOptions,
} from './index.js';
import { namedEndpoint, resolveS3Config } from './s3-config.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let s3: S3TestServer;
let tmp: string;
let bare: S3Client;
const stores: S3Store[] = [];
const proxies: FlakyHttpProxy[] = [];

/** A store talking to the server (or to `endpoint`), small parts so multipart is cheap. */
function newStore(extra: S3StoreOptions = {}, endpoint = s3.endpoint): S3Store {
  const store = createS3Store({
    endpoint,
    region: 'us-east-1',
    credentials: s3.credentials,
    forcePathStyle: true,
    env: {},
    multipartThreshold: 6 * MiB,
    partSize: 5 * MiB,
    partConcurrency: 3,
    ...extra,
  });
  stores.push(store);
  return store;
}

async function proxy(): Promise<FlakyHttpProxy> {
  const p = await startFlakyHttpProxy(s3.endpoint);
  proxies.push(p);
  return p;
}

async function file(name: string, data: Buffer): Promise<string> {
  const p = path.join(tmp, 'src', name);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, data);
  return p;
}

const entries = (dir: string): Promise<string[]> => readdir(dir).catch(() => []);
const objectRequests = (key: string) => (r: S3Request) => r.bucket === 'data' && r.key === key;

async function rejection(p: Promise<unknown>): Promise<AloftError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AloftError);
  return e as AloftError;
}

describe.skipIf(!s3ServerAvailable)('s3 store', () => {
  beforeAll(async () => {
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    s3 = await startS3Server({ buckets: ['data', 'other'] });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-s3-store-'));
    bare = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: s3.credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    for (const s of stores) s.close();
    bare?.destroy();
    for (const p of proxies) await p.close();
    await s3?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  describe('round trips', () => {
    it('small, empty and multipart objects come back byte for byte with their sha256', async () => {
      const store = newStore();
      const smallData = randomBytes(1000);
      for (const [name, data] of [
        ['small.bin', smallData],
        ['empty.bin', Buffer.alloc(0)],
        ['large.bin', randomBytes(17 * MiB + 3)],
      ] as const) {
        const url = `s3://data/rt/${name}`;
        const put = await store.put(await file(name, data), url);
        expect(put).toEqual({ bytes: data.length, sha256: sha(data) });
        const dest = path.join(tmp, 'rt', name);
        expect(await store.get(url, dest, { sha256: sha(data) })).toEqual(put);
        expect((await readFile(dest)).equals(data)).toBe(true);
        const st = await store.stat(url);
        expect(st).toMatchObject({ size: data.length, sha256: sha(data) });
        expect(st?.mtimeMs).toBeGreaterThan(0);
        expect(st?.etag).toMatch(/^[0-9a-f]{32}(-\d+)?$/);
      }
      // Below the threshold: one PutObject; above: Create, 4 parts, Complete. Each checked by HEAD.
      const small = await s3.requests(objectRequests('rt/small.bin'));
      expect(small.map((r) => `${r.method} ${r.query['x-id'] ?? ''}`)).toEqual([
        'PUT PutObject',
        'HEAD ',
        'GET GetObject',
        'HEAD ',
      ]);
      // The sha256 we computed signs the PutObject payload (the SDK does not hash it again).
      expect(small[0]?.payloadSha256).toBe(sha(smallData));
      const large = await s3.requests(objectRequests('rt/large.bin'));
      const parts = large.filter((r) => r.query['x-id'] === 'UploadPart');
      expect(parts.map((r) => Number(r.query['partNumber'])).sort()).toEqual([1, 2, 3, 4]);
      expect(parts.map((r) => r.bytesIn)).toContain(5 * MiB);
      expect(large.filter((r) => r.method === 'POST')).toHaveLength(2); // create + complete
    });

    it('sends the parts of a multipart upload in parallel', async () => {
      const p = await proxy();
      const store = newStore({ idleTimeoutMs: 20_000, maxAttempts: 1 }, p.url);
      // Responses to UploadPart are held until three are held at once: a store sending
      // parts one by one never gets past this barrier (and fails by its idle timeout).
      p.inject({ kind: 'barrier', count: 3 }, { times: 3, match: { path: 'x-id=UploadPart' } });
      const data = randomBytes(16 * MiB);
      const r = await store.put(await file('parallel.bin', data), 's3://data/parallel.bin');
      expect(r.sha256).toBe(sha(data));
      expect(p.requests({ path: 'x-id=UploadPart' })).toHaveLength(4);
      expect(p.pending()).toBe(0);
    });

    it('uses a sha256 given by the caller, and refuses a source that does not match it', async () => {
      const store = newStore();
      const data = randomBytes(12 * MiB);
      const src = await file('given.bin', data);
      expect(await store.put(src, 's3://data/given.bin', { sha256: sha(data) })).toEqual({
        bytes: data.length,
        sha256: sha(data),
      });
      expect((await store.stat('s3://data/given.bin'))?.sha256).toBe(sha(data));

      // Wrong for a multipart upload: aborted, nothing visible, parts removed.
      await s3.clearRequests();
      const e = await rejection(store.put(src, 's3://data/given-bad.bin', { sha256: sha('x') }));
      expect(e).toMatchObject({ code: 'DATA_LOSS', retryable: true });
      expect(e.message).toContain('s3://data/given-bad.bin');
      expect(e.message).toContain(sha('x'));
      expect(e.message).toContain(sha(data));
      expect(await store.stat('s3://data/given-bad.bin')).toBeUndefined();
      const reqs = await s3.requests(objectRequests('given-bad.bin'));
      expect(reqs.some((r) => r.method === 'DELETE' && 'uploadId' in r.query)).toBe(true);
      expect(await entries(path.join(s3.dir, 'data', '._S3rver_uploads'))).toEqual([]);

      // Wrong for a single PutObject: nothing sent at all.
      const small = await file('given-small.bin', Buffer.from('tiny'));
      await expect(
        store.put(small, 's3://data/given-small.bin', { sha256: sha('other') }),
      ).rejects.toMatchObject({ code: 'DATA_LOSS' });
      expect(await s3.requests(objectRequests('given-small.bin'))).toEqual([]);
    });

    it('put of a missing source → NOT_FOUND naming the source; a directory is refused', async () => {
      const store = newStore();
      const e = await rejection(store.put(path.join(tmp, 'no-such'), 's3://data/x'));
      expect(e).toMatchObject({ code: 'NOT_FOUND', retryable: false });
      expect(e.message).toContain(path.join(tmp, 'no-such'));
      await expect(store.put(tmp, 's3://data/x')).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
      });
    });
  });

  describe('integrity', () => {
    it('a wrong expected sha256 → DATA_LOSS naming the URL and both checksums, no file', async () => {
      const store = newStore();
      const data = Buffer.from('radar scan 42\n'.repeat(100));
      await store.put(await file('scan.txt', data), 's3://data/scan.txt');
      const dir = path.join(tmp, 'wrong-sha');
      // Differs from the object's x-amz-meta-sha256: refused before any byte is written.
      const e = await rejection(
        store.get('s3://data/scan.txt', path.join(dir, 'scan.txt'), { sha256: sha('other') }),
      );
      expect(e).toMatchObject({ code: 'DATA_LOSS', retryable: true });
      expect(e.message).toContain('s3://data/scan.txt');
      expect(e.message).toContain(sha('other'));
      expect(e.message).toContain(sha(data));
      expect(await entries(dir)).toEqual([]);
    });

    it('an object altered behind the store (same metadata, other bytes) is detected', async () => {
      const store = newStore();
      for (const [key, size] of [
        ['alter/small.bin', 4096],
        ['alter/large.bin', 13 * MiB],
      ] as const) {
        const good = randomBytes(size);
        await store.put(await file(key.replace('/', '-'), good), `s3://data/${key}`);
        const bad = Buffer.from(good);
        bad[size >> 1] = 0xff - good[size >> 1]!;
        await bare.send(
          new PutObjectCommand({
            Bucket: 'data',
            Key: key,
            Body: bad,
            Metadata: { sha256: sha(good) },
          }),
        );
        const dir = path.join(tmp, 'altered', key);
        const e = await rejection(store.get(`s3://data/${key}`, path.join(dir, 'x')));
        expect(e).toMatchObject({ code: 'DATA_LOSS', retryable: true });
        expect(e.message).toContain(`s3://data/${key}`);
        expect(e.message).toContain(sha(good));
        expect(e.message).toContain(sha(bad));
        expect(e.message).toMatch(/altered/);
        expect(await entries(dir)).toEqual([]);
        // The caller's checksum catches it too.
        await expect(
          store.get(`s3://data/${key}`, path.join(dir, 'x'), { sha256: sha(good) }),
        ).rejects.toMatchObject({ code: 'DATA_LOSS' });
      }
    });

    it('an object without sha256 metadata is checked against the caller only', async () => {
      const store = newStore();
      const data = Buffer.from('written by another tool');
      await bare.send(new PutObjectCommand({ Bucket: 'data', Key: 'foreign.txt', Body: data }));
      expect(await store.stat('s3://data/foreign.txt')).not.toHaveProperty('sha256');
      const dest = path.join(tmp, 'foreign', 'f.txt');
      expect(await store.get('s3://data/foreign.txt', dest)).toEqual({
        bytes: data.length,
        sha256: sha(data),
      });
      await expect(
        store.get('s3://data/foreign.txt', dest, { sha256: sha('x') }),
      ).rejects.toMatchObject({ code: 'DATA_LOSS' });
      expect(await readFile(dest, 'utf8')).toBe('written by another tool');
    });
  });

  describe('missing things, stat, delete, list', () => {
    it('missing key / bucket: get NOT_FOUND (bucket named), stat undefined, delete ok', async () => {
      const store = newStore();
      const dir = path.join(tmp, 'missing');
      await expect(store.get('s3://data/nope.bin', path.join(dir, 'x'))).rejects.toMatchObject({
        code: 'NOT_FOUND',
        retryable: false,
      });
      const e = await rejection(store.get('s3://no-such-bucket/k', path.join(dir, 'x')));
      expect(e).toMatchObject({ code: 'NOT_FOUND', retryable: false });
      expect(e.message).toMatch(/bucket 'no-such-bucket' does not exist at endpoint http/);
      expect(await entries(dir)).toEqual([]);
      expect(await store.stat('s3://data/nope.bin')).toBeUndefined();
      expect(await store.stat('s3://no-such-bucket/k')).toBeUndefined();
      await store.delete('s3://data/nope.bin');
      await store.delete('s3://no-such-bucket/k');
      await expect(store.put(await file('m', Buffer.from('m')), 's3://no-such-bucket/k')).rejects
        .toMatchObject({ code: 'NOT_FOUND' }); // prettier-ignore
      const list = async (): Promise<unknown[]> => {
        const out = [];
        for await (const x of store.list('s3://no-such-bucket/')) out.push(x);
        return out;
      };
      await expect(list()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('delete is idempotent', async () => {
      const store = newStore();
      await store.put(await file('d.txt', Buffer.from('d')), 's3://data/del/d.txt');
      expect(await store.stat('s3://data/del/d.txt')).toBeDefined();
      await store.delete('s3://data/del/d.txt');
      expect(await store.stat('s3://data/del/d.txt')).toBeUndefined();
      await store.delete('s3://data/del/d.txt');
    });

    it('list pages through ListObjectsV2 and yields objects under a prefix', async () => {
      const store = newStore({ listPageSize: 2 });
      const src = await file('l.txt', Buffer.from('12345'));
      const keys = ['list/a.txt', 'list/b/c.txt', 'list/b/d e.txt', 'list/f:g@h.txt', 'lister.txt'];
      for (const k of keys) await store.put(src, s3UrlOf({ bucket: 'data', key: '' }, k));
      await bare.send(new PutObjectCommand({ Bucket: 'data', Key: 'list/folder/', Body: '' }));
      await s3.clearRequests();
      const got = [];
      for await (const e of store.list('s3://data/list/')) got.push(e);
      expect(got).toEqual([
        { url: 's3://data/list/a.txt', size: 5 },
        { url: 's3://data/list/b/c.txt', size: 5 },
        { url: 's3://data/list/b/d%20e.txt', size: 5 },
        { url: 's3://data/list/f:g@h.txt', size: 5 },
      ]);
      // 5 keys (the folder marker included) at 2 per page: 3 pages.
      const pages = await s3.requests((r) => r.query['list-type'] === '2');
      expect(pages).toHaveLength(3);
      expect(pages.every((r) => r.query['max-keys'] === '2')).toBe(true);
      // Every URL it yields reads back.
      for (const e of got) expect((await store.stat(e.url))?.size).toBe(5);
      // A prefix that is not a "directory" matches by string, as S3 does.
      const byName = [];
      for await (const e of store.list('s3://data/list')) byName.push(e.url);
      expect(byName).toContain('s3://data/lister.txt');
      const none = [];
      for await (const e of store.list('s3://other/')) none.push(e);
      expect(none).toEqual([]);
    });
  });

  describe('faults through the proxy', () => {
    it('a body cut mid-way → UNAVAILABLE, no partial file; a retried get succeeds', async () => {
      const p = await proxy();
      const store = newStore({}, p.url);
      const data = randomBytes(3 * MiB);
      await store.put(await file('cut.bin', data), 's3://data/cut.bin');
      p.inject({ kind: 'cut', afterBytes: 100_000 }, { match: { method: 'GET' } });
      const dir = path.join(tmp, 'cut');
      const e = await rejection(store.get('s3://data/cut.bin', path.join(dir, 'cut.bin')));
      expect(e).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
      expect(await entries(dir)).toEqual([]);

      p.inject({ kind: 'cut', afterBytes: 1 }, { match: { method: 'GET' } });
      const retried: string[] = [];
      const r = await retry(() => store.get('s3://data/cut.bin', path.join(dir, 'cut.bin')), {
        tries: 3,
        initialMs: 10,
        maxMs: 50,
        onRetry: (err) => retried.push(err.code),
      });
      expect(r).toEqual({ bytes: data.length, sha256: sha(data) });
      expect(retried).toEqual(['UNAVAILABLE']);
      expect(await entries(dir)).toEqual(['cut.bin']);
      expect((await readFile(path.join(dir, 'cut.bin'))).equals(data)).toBe(true);
      expect(p.requests({ method: 'GET' }).map((x) => x.fault)).toEqual(['cut', 'cut', undefined]);
    });

    it('a stalled body fails UNAVAILABLE after the idle timeout; a short stall is ridden out', async () => {
      const p = await proxy();
      // A short idle timeout for the gets only (a loaded machine may well pause a PUT).
      const store = newStore({ idleTimeoutMs: 3000, maxAttempts: 1 }, p.url);
      const data = randomBytes(2 * MiB);
      await newStore().put(await file('stall.bin', data), 's3://data/stall.bin');
      const dir = path.join(tmp, 'stall');
      p.inject({ kind: 'stall', afterBytes: 200_000 }, { match: { method: 'GET' } });
      const e = await rejection(store.get('s3://data/stall.bin', path.join(dir, 's')));
      expect(e).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
      expect(e.message).toMatch(/timed out/);
      expect(await entries(dir)).toEqual([]);

      p.inject({ kind: 'stall', afterBytes: 200_000, ms: 200 }, { match: { method: 'GET' } });
      expect(await store.get('s3://data/stall.bin', path.join(dir, 's'))).toEqual({
        bytes: data.length,
        sha256: sha(data),
      });
    });

    it('5xx: the SDK retries single requests; past maxAttempts → UNAVAILABLE', async () => {
      const p = await proxy();
      const patient = newStore({ maxAttempts: 3 }, p.url);
      const impatient = newStore({ maxAttempts: 1 }, p.url);
      const data = Buffer.from('five hundred');
      await patient.put(await file('5xx.txt', data), 's3://data/5xx.txt');
      const dest = path.join(tmp, '5xx', 'x');

      p.inject({ kind: 'status', status: 503 }, { times: 2, match: { method: 'GET' } });
      expect(await patient.get('s3://data/5xx.txt', dest)).toMatchObject({ bytes: data.length });
      expect(p.requests({ method: 'GET' }).map((r) => r.status)).toEqual([503, 503, 200]);

      p.inject({ kind: 'status', status: 500 }, { match: { method: 'GET' } });
      const e = await rejection(impatient.get('s3://data/5xx.txt', dest));
      expect(e).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
      expect(e.message).toMatch(/InternalError \(HTTP 500\)/);

      p.inject({ kind: 'status', status: 503 }, { match: { method: 'HEAD' } });
      await expect(impatient.stat('s3://data/5xx.txt')).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
    });

    it('AccessDenied → PERMISSION_DENIED, not retryable', async () => {
      const p = await proxy();
      const store = newStore({ maxAttempts: 3 }, p.url);
      p.inject({ kind: 'status', status: 403 }, { match: { method: 'GET' } });
      const e = await rejection(store.get('s3://data/5xx.txt', path.join(tmp, 'denied', 'x')));
      expect(e).toMatchObject({ code: 'PERMISSION_DENIED', retryable: false });
      expect(e.message).toMatch(/AccessDenied \(HTTP 403\)/);
      expect(p.requests({ method: 'GET' })).toHaveLength(1); // not retried by the SDK either
    });

    it('a failed multipart upload is aborted: nothing visible, no parts left', async () => {
      const p = await proxy();
      const store = newStore({ maxAttempts: 1 }, p.url);
      const data = randomBytes(16 * MiB);
      const src = await file('mp-fail.bin', data);
      p.inject({ kind: 'status', status: 500 }, { match: { path: 'partNumber=2&' } });
      const e = await rejection(store.put(src, 's3://data/mp-fail.bin'));
      expect(e).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
      expect(await store.stat('s3://data/mp-fail.bin')).toBeUndefined();
      const reqs = await s3.requests(objectRequests('mp-fail.bin'));
      expect(reqs.some((r) => r.method === 'DELETE' && r.status === 204)).toBe(true);
      expect(reqs.some((r) => r.method === 'POST' && 'uploadId' in r.query)).toBe(false);
      expect(await entries(path.join(s3.dir, 'data', '._S3rver_uploads'))).toEqual([]);

      // The same through a cut in the middle of a part's request body.
      p.inject({ kind: 'cut-request', afterBytes: MiB }, { match: { path: 'partNumber=3&' } });
      await expect(store.put(src, 's3://data/mp-fail.bin')).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
      expect(await store.stat('s3://data/mp-fail.bin')).toBeUndefined();
      expect(await entries(path.join(s3.dir, 'data', '._S3rver_uploads'))).toEqual([]);
      // And then it works.
      expect((await store.put(src, 's3://data/mp-fail.bin')).sha256).toBe(sha(data));
    });

    it('a single PutObject cut mid-body leaves no object', async () => {
      const p = await proxy();
      const store = newStore({ maxAttempts: 1 }, p.url);
      const src = await file('put-cut.bin', randomBytes(2 * MiB));
      p.inject({ kind: 'cut-request', afterBytes: MiB }, { match: { method: 'PUT' } });
      await expect(store.put(src, 's3://data/put-cut.bin')).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
      expect(await store.stat('s3://data/put-cut.bin')).toBeUndefined();
    });

    it('an AbortSignal cancels get and put mid-transfer, leaving nothing behind', async () => {
      const p = await proxy();
      const store = newStore({ idleTimeoutMs: 60_000 }, p.url);
      const data = randomBytes(16 * MiB);
      const src = await file('abort.bin', data);
      await store.put(src, 's3://data/abort-get.bin');

      // get: the body stalls after 1 MiB; abort once it is there.
      p.inject({ kind: 'stall', afterBytes: MiB }, { match: { method: 'GET' } });
      const dir = path.join(tmp, 'abort');
      const ac = new AbortController();
      const get = store.get('s3://data/abort-get.bin', path.join(dir, 'a'), { signal: ac.signal });
      await until(() => p.requests({ method: 'GET' }).length === 1);
      ac.abort();
      await expect(get).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await entries(dir)).toEqual([]);

      // multipart put: part 2's request stalls mid-body; abort once it has started.
      const part2 = 'abort-put.bin?partNumber=2&';
      p.inject({ kind: 'stall-request', afterBytes: MiB }, { match: { path: part2 } });
      const ac2 = new AbortController();
      const put = store.put(src, 's3://data/abort-put.bin', { signal: ac2.signal });
      await until(() => p.requests({ path: part2 }).length === 1);
      ac2.abort();
      await expect(put).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await store.stat('s3://data/abort-put.bin')).toBeUndefined();
      await until(async () => (await s3.requests(objectRequests('abort-put.bin'))).some(
        (r) => r.method === 'DELETE' && r.status === 204,
      )); // prettier-ignore
      expect(await entries(path.join(s3.dir, 'data', '._S3rver_uploads'))).toEqual([]);

      // single put: the body stalls after 100 kB.
      const small = await file('abort-small.bin', randomBytes(MiB));
      p.inject({ kind: 'stall-request', afterBytes: 100_000 }, { match: { method: 'PUT' } });
      const ac3 = new AbortController();
      const put3 = store.put(small, 's3://data/abort-small.bin', { signal: ac3.signal });
      await until(() => p.requests({ path: 'abort-small.bin' }).length === 1);
      ac3.abort();
      await expect(put3).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await store.stat('s3://data/abort-small.bin')).toBeUndefined();

      // Already aborted: nothing is sent.
      const before = p.requests().length;
      await expect(
        store.get('s3://data/abort-get.bin', path.join(dir, 'b'), { signal: AbortSignal.abort() }),
      ).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(p.requests()).toHaveLength(before);
    });

    it('nobody listening → UNAVAILABLE', async () => {
      const p = await proxy();
      const url = p.url;
      await p.close();
      const store = newStore({ maxAttempts: 1 }, url);
      await expect(store.get('s3://data/x', path.join(tmp, 'refused', 'x'))).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        retryable: true,
      });
    });
  });

  describe('configuration', () => {
    it('reads the standard AWS environment (endpoint, region, keys) and ALOFT_S3_PATH_STYLE', async () => {
      const { AWS_REGION: _r, ...rest } = s3.env;
      const store = createS3Store({ env: { ...rest, AWS_DEFAULT_REGION: 'us-east-1' } });
      stores.push(store);
      const data = Buffer.from('via env');
      await store.put(await file('env.txt', data), 's3://data/env.txt');
      expect(await store.get('s3://data/env.txt', path.join(tmp, 'env', 'e'))).toMatchObject({
        sha256: sha(data),
      });
      // AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL.
      const s2 = createS3Store({
        env: {
          ...s3.env,
          AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
          AWS_ENDPOINT_URL_S3: s3.endpoint,
        },
      });
      stores.push(s2);
      expect((await s2.stat('s3://data/env.txt'))?.size).toBe(data.length);
    });

    it('falls back to the SDK chain: AWS_PROFILE and the shared credentials file', async () => {
      const creds = path.join(tmp, 'aws-credentials');
      const wrongKey = 'AKWRONGPROFILEKEY';
      const wrongSecret = 'wrong-profile-secret-value';
      await writeFile(
        creds,
        `[bench]\naws_access_key_id = ${s3.credentials.accessKeyId}\n` +
          `aws_secret_access_key = ${s3.credentials.secretAccessKey}\n` +
          `[wrong]\naws_access_key_id = ${wrongKey}\naws_secret_access_key = ${wrongSecret}\n`,
      );
      const saved = { ...process.env };
      // The SDK's chain reads the process environment for its file locations.
      process.env['AWS_SHARED_CREDENTIALS_FILE'] = creds;
      process.env['AWS_CONFIG_FILE'] = path.join(tmp, 'aws-config-none');
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
        delete process.env[k];
      }
      try {
        const p = await proxy();
        const env = { AWS_ENDPOINT_URL: p.url, AWS_REGION: 'us-east-1' };
        const good = createS3Store({ env: { ...env, AWS_PROFILE: 'bench' } });
        const wrong = createS3Store({ env: { ...env, AWS_PROFILE: 'wrong' }, maxAttempts: 1 });
        stores.push(good, wrong);
        await good.put(await file('profile.txt', Buffer.from('p')), 's3://data/profile.txt');
        expect((await good.stat('s3://data/profile.txt'))?.size).toBe(1);
        const e = await rejection(wrong.get('s3://data/profile.txt', path.join(tmp, 'pf', 'x')));
        expect(e).toMatchObject({ code: 'PERMISSION_DENIED' });
        expect(e.message).toMatch(/InvalidAccessKeyId/);
        // Even a server echoing the credentials back: what the chain resolved is scrubbed.
        p.inject({
          kind: 'status',
          status: 403,
          message: `key ${wrongKey} secret ${wrongSecret} refused`,
        });
        const echoed = await rejection(wrong.stat('s3://data/profile.txt'));
        expect(echoed.code).toBe('PERMISSION_DENIED');
        p.inject({
          kind: 'status',
          status: 400,
          code: 'InvalidRequest',
          message: `key ${wrongKey} secret ${wrongSecret} refused`,
        });
        const echoed2 = await rejection(
          wrong.get('s3://data/profile.txt', path.join(tmp, 'pf', 'x')),
        );
        expect(echoed2).toMatchObject({ code: 'FAILED_PRECONDITION' });
        expect(echoed2.message).toContain('key [redacted] secret [redacted] refused');
        for (const err of [e, echoed, echoed2]) {
          expect(JSON.stringify(err.toJSON())).not.toContain(wrongKey);
          expect(JSON.stringify(err.toJSON())).not.toContain(wrongSecret);
        }
      } finally {
        process.env = saved;
      }
    });

    it('path style: option, else ALOFT_S3_PATH_STYLE, else on for non-AWS endpoints', () => {
      const style = (o: S3StoreOptions): boolean => resolveS3Config(o).default.forcePathStyle;
      expect(style({ env: {} })).toBe(false);
      expect(style({ env: { AWS_ENDPOINT_URL: 'http://minio:9000' } })).toBe(true);
      expect(style({ env: { AWS_ENDPOINT_URL: 'https://s3.eu-west-1.amazonaws.com' } })).toBe(
        false,
      );
      expect(
        style({ env: { AWS_ENDPOINT_URL: 'http://minio:9000', ALOFT_S3_PATH_STYLE: '0' } }),
      ).toBe(false);
      expect(style({ env: { ALOFT_S3_PATH_STYLE: '1' } })).toBe(true);
      expect(style({ forcePathStyle: false, env: { ALOFT_S3_PATH_STYLE: 'true' } })).toBe(false);
      // Named endpoints: SITE's settings overlaid with USER@SITE's; the environment's region.
      const cfg = resolveS3Config({
        env: { AWS_DEFAULT_REGION: 'eu-north-1' },
        endpoints: {
          site: { endpoint: 'http://ceph.example:7480' },
          'alice@site': { credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } },
        },
      });
      expect(namedEndpoint(cfg, 'alice@site')).toEqual({
        label: "S3 endpoint 'alice@site' (http://ceph.example:7480)",
        endpoint: 'http://ceph.example:7480',
        region: 'eu-north-1',
        credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
        forcePathStyle: true,
      });
      expect(namedEndpoint(cfg, 'bob@site')?.endpoint).toBe('http://ceph.example:7480');
      expect(namedEndpoint(cfg, 'bob@nowhere')).toBeUndefined();
    });

    it('a bad configuration is one INVALID_ARGUMENT listing every bad key, no secret shown', () => {
      const secret = 'SuperSecretValue123';
      const e = (() => {
        try {
          createS3Store({
            endpoint: 'ftp://x',
            region: 'not a region',
            credentials: { accessKeyId: '', secretAccessKey: secret },
            partSize: 1024,
            partConcurrency: 0,
            endpoints: { 'bad name!': {}, site: { endpoint: `http://u:${secret}@h` } },
            env: {
              AWS_SECRET_ACCESS_KEY: secret,
              ALOFT_S3_PATH_STYLE: 'maybe',
              AWS_ENDPOINT_URL: 'not a url',
            },
          });
        } catch (err) {
          return err as AloftError;
        }
        throw new Error('no error');
      })();
      expect(e).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(e.problems.map((p) => p.where)).toEqual([
        "S3 store option 'endpoint'",
        "S3 store option 'region'",
        "S3 store option 'credentials'.accessKeyId",
        'environment AWS_ENDPOINT_URL',
        'environment AWS_ACCESS_KEY_ID',
        'environment ALOFT_S3_PATH_STYLE',
        "S3 endpoint 'bad name!'",
        "S3 endpoint 'site': endpoint",
        "S3 store option 'partSize'",
        "S3 store option 'partConcurrency'",
      ]);
      expect(JSON.stringify(e.toJSON())).not.toContain(secret);
      expect(e.message).toBe('S3 store configuration: 10 problems');
    });

    it('parses both URL forms and refuses unsafe ones', () => {
      expect(parseS3Url('s3://data/a/b%20c.txt')).toEqual({ bucket: 'data', key: 'a/b c.txt' });
      expect(parseS3Url('s3://alice@site/data/a/b')).toEqual({
        name: 'alice@site',
        bucket: 'data',
        key: 'a/b',
      });
      expect(parseS3Url('s3://data', false)).toEqual({ bucket: 'data', key: '' });
      for (const [url, why] of [
        ['s3://alice:pw@site/data/k', /carries a password/],
        ['s3://data:9000/k', /has a port/],
        ['s3://data/a/../k', /'\.\.' path segment/],
        ['s3://data/', /names no object key/],
        ['s3://alice@site/', /names no bucket/],
        ['s3://x/k', /invalid bucket name 'x'/],
        ['s3://data/k?versionId=1', /query or fragment/],
        ['s3://data/%zz', /malformed %-escape/],
        ['http://data/k', /expected 's3:'/],
      ] as const) {
        let err: unknown;
        try {
          parseS3Url(url);
        } catch (e) {
          err = e;
        }
        expect(err, url).toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(why),
        });
        expect((err as Error).message).not.toContain(':pw@');
      }
      const loc = { name: 'alice@site', bucket: 'data', key: '' };
      for (const key of ['a b/c#d?e%f', 'x:y@z+w', 'ünï/cödé']) {
        expect(parseS3Url(s3UrlOf(loc, key))).toEqual({ ...loc, key });
      }
    });

    it('named endpoints, Pegasus style: s3://user@site/bucket/key', async () => {
      const store = newStore({
        endpoint: 'http://127.0.0.1:1', // the default endpoint is NOT used for named URLs
        endpoints: {
          site: { endpoint: s3.endpoint, region: 'us-east-1' },
          'alice@site': { credentials: s3.credentials },
          'mallory@site': {
            credentials: { accessKeyId: 'WRONGKEY', secretAccessKey: 'nope-nope' },
          },
        },
      });
      const data = Buffer.from('named');
      const src = await file('named.txt', data);
      expect(await store.put(src, 's3://alice@site/data/named/n.txt')).toMatchObject({
        sha256: sha(data),
      });
      const listed = [];
      for await (const x of store.list('s3://alice@site/data/named/')) listed.push(x.url);
      expect(listed).toEqual(['s3://alice@site/data/named/n.txt']);
      const denied = await rejection(
        store.get('s3://mallory@site/data/named/n.txt', path.join(tmp, 'mallory', 'n')),
      );
      expect(denied).toMatchObject({ code: 'PERMISSION_DENIED', retryable: false });
      expect(denied.message).toMatch(
        /^get s3:\/\/mallory@site\/data\/named\/n.txt: .*InvalidAccessKeyId/,
      );
      await expect(store.stat('s3://mallory@site/data/named/n.txt')).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
      expect(denied.message).not.toContain('WRONGKEY');
      expect(denied.message).not.toContain('nope-nope');
      const unknown = await rejection(store.stat('s3://bob@elsewhere/data/k'));
      expect(unknown).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(unknown.problems[0]?.hint).toMatch(/\[elsewhere\].*\[bob@elsewhere\]/);
    });

    it('routes: per-prefix endpoint settings (a plan StoreAccess), credentials from the default', async () => {
      const store = newStore({
        endpoint: 'http://127.0.0.1:1', // nobody there: only routed URLs can work
        maxAttempts: 1,
        routes: [
          { url: 's3://data/routed/', endpoint: s3.endpoint, forcePathStyle: true },
          { url: 's3://data/routed/deeper/', endpoint: 'http://127.0.0.1:1' },
        ],
      });
      const src = await file('routed.txt', Buffer.from('routed'));
      expect((await store.put(src, 's3://data/routed/a.txt')).bytes).toBe(6);
      expect((await store.stat('s3://data/routed/a.txt'))?.size).toBe(6);
      // The longest prefix wins; URLs outside every route use the default endpoint.
      await expect(store.stat('s3://data/routed/deeper/a.txt')).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
      await expect(store.stat('s3://data/elsewhere.txt')).rejects.toMatchObject({
        code: 'UNAVAILABLE',
      });
      let err: AloftError | undefined;
      try {
        createS3Store({ env: {}, routes: [{ url: 'https://x/', endpoint: 'ftp://y' }] });
      } catch (e) {
        err = e as AloftError;
      }
      expect(err?.problems.map((p) => p.where)).toEqual(['S3 route 1 (https://x/): url']);
    });

    it('registerS3FromEnvironment reads a Pegasus s3cfg and serves s3:// through storeFor', async () => {
      const cfg = path.join(tmp, 's3cfg');
      await writeFile(
        cfg,
        [
          '# Pegasus s3cfg',
          '[site]',
          `endpoint = ${s3.endpoint}`,
          'max_object_size = 1024',
          '',
          '[alice@site]',
          `access_key = ${s3.credentials.accessKeyId}`,
          `secret_key = ${s3.credentials.secretAccessKey}`,
        ].join('\n'),
      );
      const store = registerS3FromEnvironment({ env: { S3CFG: cfg, ...s3.env } });
      stores.push(store);
      expect(storeFor('s3://alice@site/data/x')).toBe(store);
      await store.put(await file('reg.txt', Buffer.from('reg')), 's3://alice@site/data/reg.txt');
      expect((await storeFor('s3://data/reg.txt').stat('s3://data/reg.txt'))?.size).toBe(3);

      expect(() => registerS3FromEnvironment({ env: { S3CFG: path.join(tmp, 'nope') } })).toThrow(
        /environment S3CFG .* cannot be read \(ENOENT\)/,
      );
      const secret = 'TopSecretKey99';
      let err: AloftError | undefined;
      try {
        parsePegasusS3Config(
          `[site]\nendpoint = ftp://h\ncolour = blue\n[u@site]\nsecret_key = ${secret}\n[bad name]\n`,
          '/etc/s3cfg',
        );
      } catch (e) {
        err = e as AloftError;
      }
      expect(err?.problems.map((p) => p.where)).toEqual([
        '/etc/s3cfg:3 [site] colour',
        '/etc/s3cfg [site] endpoint',
        '/etc/s3cfg [u@site] access_key',
        '/etc/s3cfg [bad name]',
      ]);
      expect(JSON.stringify(err?.toJSON())).not.toContain(secret);
    });

    it('never shows credentials in messages or logs', async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      });
      const logger = createLogger({ level: 'debug', destination: sink });
      const p = await proxy();
      const store = newStore({ logger, maxAttempts: 1 }, p.url);
      const { accessKeyId, secretAccessKey } = s3.credentials;
      const messages: string[] = [];
      const collect = async (op: Promise<unknown>): Promise<void> => {
        const e = await op.then(() => undefined, (x: unknown) => x); // prettier-ignore
        if (e instanceof AloftError) messages.push(e.message, JSON.stringify(e.toJSON()));
      };
      const src = await file('creds.bin', randomBytes(7 * MiB));
      await store.put(src, 's3://data/creds.bin');
      await store.get('s3://data/creds.bin', path.join(tmp, 'creds', 'c'));
      await collect(store.get('s3://data/none', path.join(tmp, 'creds', 'x')));
      p.inject({ kind: 'status', status: 403, code: 'SignatureDoesNotMatch' });
      await collect(store.get('s3://data/creds.bin', path.join(tmp, 'creds', 'x')));
      p.inject({ kind: 'status', status: 500 }, { match: { path: 'partNumber=1&' } });
      await collect(store.put(src, 's3://data/creds2.bin'));
      await collect(store.get('s3://alice:pw@site/data/x', path.join(tmp, 'creds', 'x')));
      expect(messages.length).toBeGreaterThanOrEqual(8);
      expect(lines.some((l) => l.includes('s3 put done'))).toBe(true);
      for (const text of [...messages, ...lines]) {
        expect(text).not.toContain(secretAccessKey);
        expect(text).not.toContain(accessKeyId);
        expect(text).not.toContain(':pw@');
      }
    });
  });
});

/** Poll `cond` until true (generous limit; never a fixed sleep racing the work). */
async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
