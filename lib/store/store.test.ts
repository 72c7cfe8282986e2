import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFileStore,
  createHttpStore,
  storeError,
  storeFor,
  toUrl,
  type Store,
} from './index.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const url = (p: string): string => pathToFileURL(p).href;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-store-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function collect(store: Store, prefix: string): Promise<{ url: string; size: number }[]> {
  const out: { url: string; size: number }[] = [];
  for await (const e of store.list(prefix)) out.push(e);
  return out;
}

describe('toUrl / storeFor', () => {
  it('turns absolute paths into file URLs and keeps URLs', () => {
    expect(toUrl('/a/b c/../d')).toBe('file:///a/d');
    expect(toUrl('file:///x/y')).toBe('file:///x/y');
    expect(toUrl('https://h/x')).toBe('https://h/x');
  });

  it('rejects relative paths and unknown schemes with a clear message', () => {
    expect(() => toUrl('rel/path')).toThrow(/not a URL or an absolute path/);
    expect(() => storeFor('gopher://h/x')).toThrow(/no store handles the 'gopher:' scheme/);
  });

  it('picks the store by scheme', () => {
    expect(storeFor('/tmp/x').scheme).toBe('file');
    expect(storeFor('http://h/x').scheme).toBe('http');
    expect(storeFor('https://h/x').scheme).toBe('https');
  });
});

describe('file store', () => {
  it('get copies, hashes and creates parent directories', async () => {
    const store = createFileStore();
    const src = path.join(tmp, 'src.bin');
    const data = Buffer.alloc(700_000, 7);
    await writeFile(src, data);
    const dest = path.join(tmp, 'deep', 'er', 'dest.bin');
    const r = await store.get(url(src), dest);
    expect(r).toEqual({ bytes: data.length, sha256: sha(data) });
    expect((await readFile(dest)).equals(data)).toBe(true);
  });

  it('get with a wrong expected sha256 fails DATA_LOSS and leaves nothing behind', async () => {
    const store = createFileStore();
    const src = path.join(tmp, 'c.txt');
    await writeFile(src, 'content');
    const dir = path.join(tmp, 'mismatch');
    await expect(
      store.get(url(src), path.join(dir, 'c.txt'), { sha256: sha('other') }),
    ).rejects.toMatchObject({ code: 'DATA_LOSS', retryable: true });
    expect(await readdir(dir)).toEqual([]);
    const ok = await store.get(url(src), path.join(dir, 'c.txt'), { sha256: sha('content') });
    expect(ok.bytes).toBe(7);
  });

  it('missing source → NOT_FOUND, not retryable, no destination', async () => {
    const store = createFileStore();
    const dir = path.join(tmp, 'missing');
    await expect(store.get(url(path.join(tmp, 'nope')), path.join(dir, 'x'))).rejects.toMatchObject(
      { code: 'NOT_FOUND', retryable: false },
    );
    expect(await readdir(dir).catch(() => [])).toEqual([]);
  });

  it('an aborted get leaves no partial file', async () => {
    const store = createFileStore();
    const src = path.join(tmp, 'big.bin');
    await writeFile(src, Buffer.alloc(8 << 20, 1));
    const dir = path.join(tmp, 'aborted');
    const ac = new AbortController();
    const p = store.get(url(src), path.join(dir, 'big.bin'), { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await readdir(dir).catch(() => [])).toEqual([]);
  });

  it('put, stat, list and delete', async () => {
    const base = path.join(tmp, 'store1');
    const store = createFileStore({ base });
    const src = path.join(tmp, 'out.txt');
    await writeFile(src, 'hello');
    const r = await store.put(src, url(path.join(base, 'site', 'a', 'out.txt')));
    expect(r).toEqual({ bytes: 5, sha256: sha('hello') });
    await store.put(src, url(path.join(base, 'site', 'b.txt')));
    await store.put(src, url(path.join(base, 'other.txt')));
    const st = await store.stat(url(path.join(base, 'site', 'b.txt')));
    expect(st?.size).toBe(5);
    expect(st?.mtimeMs).toBeGreaterThan(0);
    expect(await store.stat(url(path.join(base, 'nope')))).toBeUndefined();
    expect(await store.stat(url(path.join(base, 'site')))).toBeUndefined();

    const all = await collect(store, url(base) + '/');
    expect(all.map((e) => path.relative(base, new URL(e.url).pathname))).toEqual([
      'other.txt',
      'site/a/out.txt',
      'site/b.txt',
    ]);
    const site = await collect(store, url(path.join(base, 'site')) + '/');
    expect(site).toHaveLength(2);
    const byName = await collect(store, url(path.join(base, 'site', 'b')));
    expect(byName).toEqual([{ url: url(path.join(base, 'site', 'b.txt')), size: 5 }]);
    expect(await collect(store, url(path.join(base, 'absent')) + '/')).toEqual([]);

    await store.delete(url(path.join(base, 'site', 'b.txt')));
    await store.delete(url(path.join(base, 'site', 'b.txt')));
    expect(await store.stat(url(path.join(base, 'site', 'b.txt')))).toBeUndefined();
  });

  it('put of a missing source → NOT_FOUND naming the source', async () => {
    const store = createFileStore();
    await expect(store.put(path.join(tmp, 'no-such'), url(path.join(tmp, 'x')))).rejects.toThrow(
      /no-such.*not found/,
    );
  });

  it('rejects URLs escaping the base, lexically or through a symlink', async () => {
    const base = path.join(tmp, 'store2');
    await mkdir(base, { recursive: true });
    await symlink(tmp, path.join(base, 'link'));
    const store = createFileStore({ base: url(base) });
    await expect(store.stat(`${url(base)}/../store1/other.txt`)).rejects.toThrow(
      /outside the store base/,
    );
    await expect(store.stat(`${url(base)}/link/src.bin`)).rejects.toThrow(/outside the store base/);
    expect(() => store.localPath?.(`${url(base)}/../x`)).toThrow(/outside the store base/);
    expect(store.localPath?.(`${url(base)}/a/b`)).toBe(path.join(base, 'a', 'b'));
  });

  it('rejects URLs that are not plain absolute file URLs', async () => {
    const store = createFileStore();
    await expect(store.stat('file://remote/x')).rejects.toThrow(/remote host/);
    await expect(store.stat('http://h/x')).rejects.toThrow(/expected 'file:'/);
    await expect(store.stat('file:///a%2Fb')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.stat('file:///x?y')).rejects.toThrow(/query or fragment/);
  });

  it('a full disk (real ENOSPC from /dev/full) normalises to RESOURCE_EXHAUSTED', async () => {
    const fh = await open('/dev/full', 'w').catch(() => undefined);
    if (!fh) return; // no /dev/full on this machine
    const err: unknown = await fh.write(Buffer.from('x')).then(
      () => undefined,
      (e: unknown) => e,
    );
    await fh.close();
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(storeError(err, 'put', 'file:///s/x')).toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      message: 'put file:///s/x: no space left (ENOSPC)',
    });
  });
});

describe('http store', () => {
  let server: http.Server;
  let root: string;
  let flaky = 0;
  const body = Buffer.from('radar scan 42\n'.repeat(1000));

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const p = req.url ?? '/';
      if (p === '/data.bin') {
        res.writeHead(200, {
          'content-length': String(body.length),
          'last-modified': new Date(0).toUTCString(),
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      } else if (p === '/short.bin') {
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, 100));
        setTimeout(() => res.destroy(), 10);
      } else if (p === '/private.bin') {
        const auth = req.headers.authorization ?? '';
        const ok = auth === `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
        res.writeHead(ok ? 200 : 401);
        res.end(ok ? 'secret data' : undefined);
      } else if (p === '/flaky.bin') {
        flaky++;
        res.writeHead(503);
        res.end();
      } else if (p === '/forbidden.bin') {
        res.writeHead(403);
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('get downloads and hashes; stat reads size and mtime', async () => {
    const store = createHttpStore();
    const dest = path.join(tmp, 'http', 'data.bin');
    const r = await store.get(`${root}/data.bin`, dest, { sha256: sha(body) });
    expect(r).toEqual({ bytes: body.length, sha256: sha(body) });
    expect((await readFile(dest)).equals(body)).toBe(true);
    expect(await store.stat(`${root}/data.bin`)).toEqual({ size: body.length, mtimeMs: 0 });
    expect(await store.stat(`${root}/missing.bin`)).toBeUndefined();
  });

  it('404 → NOT_FOUND, 503 → UNAVAILABLE (retryable), 403 → FAILED_PRECONDITION', async () => {
    const store = createHttpStore();
    const dest = path.join(tmp, 'http2', 'x');
    await expect(store.get(`${root}/missing.bin`, dest)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      retryable: false,
    });
    await expect(store.get(`${root}/flaky.bin`, dest)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      retryable: true,
    });
    expect(flaky).toBe(1);
    await expect(store.get(`${root}/forbidden.bin`, dest)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    expect(await readdir(path.dirname(dest)).catch(() => [])).toEqual([]);
  });

  it('a truncated body → UNAVAILABLE and no partial file', async () => {
    const store = createHttpStore();
    const dir = path.join(tmp, 'http3');
    await expect(store.get(`${root}/short.bin`, path.join(dir, 's'))).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(await readdir(dir).catch(() => [])).toEqual([]);
  });

  it('nobody listening → UNAVAILABLE', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(
      createHttpStore().get(`http://127.0.0.1:${port}/x`, path.join(tmp, 'http4', 'x')),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('is read-only and cannot list; credentials never appear in messages', async () => {
    const store = createHttpStore();
    await expect(store.put('/etc/hostname', `${root}/x`)).rejects.toThrow(
      /http stores are read-only/,
    );
    await expect(store.delete(`${root}/x`)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    await expect(collect(store, `${root}/`)).rejects.toThrow(/cannot list/);
    const withCreds = root.replace('http://', 'http://alice:s3cret@');
    const err = await store
      .get(`${withCreds}/missing.bin`, path.join(tmp, 'h5', 'x'))
      .catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect(String((err as Error).message)).not.toContain('s3cret');
    const dest = path.join(tmp, 'h5', 'private.bin');
    await store.get(`${withCreds}/private.bin`, dest);
    expect(await readFile(dest, 'utf8')).toBe('secret data');
    await expect(store.get(`${root}/private.bin`, dest)).rejects.toThrow(/HTTP 401/);
  });
});
