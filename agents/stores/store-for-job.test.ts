/**
 * storeForJob: a job's StoreAccess decides how its URLs are reached, over the agent's
 * environment. Against a real s3rver, with a request-logging proxy standing for "the
 * endpoint the environment names": routed URLs must bypass it, other URLs must use it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Store, registerStore, storeFor, type Store } from '../../lib/store/index.js';
import type { PlannedJob, StoreAccess } from '../../proto/index.js';
import { startFlakyHttpProxy, type FlakyHttpProxy } from '../../test/helpers/flaky-http-proxy.js';
import {
  s3ServerAvailable,
  startS3Server,
  type S3TestServer,
} from '../../test/helpers/s3-server.js';
import { MAX_ROUTED, routesOf, storeForJob } from './index.js';

const job = (storeAccess?: StoreAccess[]): Pick<PlannedJob, 'storeAccess'> =>
  storeAccess ? { storeAccess } : {};

describe('routesOf / storeForJob without S3 entries', () => {
  it('keeps only s3:// entries, as routes in URL order, with path style renamed', () => {
    expect(
      routesOf(
        job([
          { url: 's3://b/z/', site: 'z', endpoint: 'http://127.0.0.1:1', pathStyle: true },
          { url: 'file:///stores/x/', site: 'x', endpoint: 'http://127.0.0.1:2' },
          { url: 's3://b/a/', site: 'a', region: 'eu-west-1' },
        ]),
      ),
    ).toEqual([
      { url: 's3://b/a/', region: 'eu-west-1' },
      { url: 's3://b/z/', endpoint: 'http://127.0.0.1:1', forcePathStyle: true },
    ]);
  });

  it('is the registry itself for a job with no S3 entries', () => {
    expect(storeForJob(job())).toBe(storeFor);
    expect(storeForJob(job([{ url: 'file:///s/', site: 's' }]))).toBe(storeFor);
  });
});

describe.skipIf(!s3ServerAvailable)('storeForJob against s3rver', () => {
  let s3: S3TestServer;
  let proxy: FlakyHttpProxy;
  let tmp: string;
  let base: Store;

  beforeAll(async () => {
    // The SDK's Node-version notice is silenced by the CLI, not the library.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    s3 = await startS3Server({ buckets: ['data'] });
    proxy = await startFlakyHttpProxy(s3.endpoint);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-store-for-job-'));
    // The agent's environment: credentials, and an endpoint (the proxy) for unrouted URLs.
    base = createS3Store({
      env: {
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        AWS_ENDPOINT_URL: proxy.url,
        AWS_REGION: 'us-east-1',
      },
    });
    registerStore(base);
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await s3?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("reaches routed URLs at the job's endpoint with the environment's credentials", async () => {
    const src = path.join(tmp, 'src');
    await writeFile(src, 'routed bytes\n');
    const j = job([
      { url: 's3://data/site-a/', site: 'a', endpoint: s3.endpoint, pathStyle: true },
    ]);
    const stores = storeForJob(j);
    const url = 's3://data/site-a/x.txt';
    const store = stores(url);
    expect(store).not.toBe(base);
    const put = await store.put(src, url);
    const dest = path.join(tmp, 'got');
    const got = await store.get(url, dest, { sha256: put.sha256 });
    expect(got.sha256).toBe(put.sha256);
    expect(await readFile(dest, 'utf8')).toBe('routed bytes\n');
    expect((await store.stat(url))?.sha256).toBe(put.sha256);
    await store.delete(url);
    expect(await store.stat(url)).toBeUndefined();
    // None of it went to the environment's endpoint.
    expect(proxy.requests()).toEqual([]);
    // Server side: the requests reached s3rver directly.
    const seen = await s3.requests((r) => r.key === 'site-a/x.txt');
    expect(seen.map((r) => r.method)).toEqual(expect.arrayContaining(['PUT', 'GET', 'DELETE']));
  });

  it('serves other URLs as the environment says, and non-s3 URLs from the registry', async () => {
    const j = job([
      { url: 's3://data/site-a/', site: 'a', endpoint: s3.endpoint, pathStyle: true },
    ]);
    const stores = storeForJob(j);
    // s3://data/other/ is under no entry: same endpoint as without the job (the proxy).
    expect(await stores('s3://data/other/none').stat('s3://data/other/none')).toBeUndefined();
    expect(proxy.requests().map((r) => r.method)).toEqual(['HEAD']);
    expect(stores('file:///tmp/x')).toBe(storeFor('file:///tmp/x'));
  });

  it('builds one routed store per distinct set of entries, shared by jobs', () => {
    const a = { url: 's3://data/site-a/', site: 'a', endpoint: s3.endpoint, pathStyle: true };
    const b = { url: 's3://data/site-b/', site: 'b', endpoint: s3.endpoint, pathStyle: true };
    const u = 's3://data/site-a/k';
    const one = storeForJob(job([a, b]))(u);
    expect(storeForJob(job([b, a]))(u)).toBe(one);
    expect(storeForJob(job([a]))(u)).not.toBe(one);
    expect(MAX_ROUTED).toBeGreaterThan(1);
  });

  it('a bad entry fails as invalid input naming it', () => {
    const stores = storeForJob(job([{ url: 's3://data/bad/', site: 'x', endpoint: 'ftp://h' }]));
    expect(() => stores('s3://data/bad/k')).toThrow(/S3 route 1 \(s3:\/\/data\/bad\/\)/);
  });
});
