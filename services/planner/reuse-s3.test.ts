/**
 * Reuse evidence for outputs on a site's S3 store, when only the site catalog names that
 * store's endpoint (`aloft.s3.*` profiles) and the environment's endpoint is elsewhere: the
 * routes from siteS3Routes reach the real s3rver; without them the store is unreachable and
 * there is no evidence (the job would run again).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createS3Store,
  registerStore,
  storeForRoutes,
  type S3Store,
} from '../../lib/store/index.js';
import { diamond, site } from '../../test/helpers/planner-model.js';
import {
  s3ServerAvailable,
  startS3Server,
  type S3TestServer,
} from '../../test/helpers/s3-server.js';
import { OutputReplicaCatalog } from '../run/index.js';
import { findExistingOutputs, siteS3Routes } from './index.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe.skipIf(!s3ServerAvailable)('reuse evidence on a site S3 store', () => {
  let s3: S3TestServer;
  let dir: string;
  let store: S3Store;

  beforeAll(async () => {
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    s3 = await startS3Server({ buckets: ['results'] });
    dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-reuse-s3-'));
    // The environment: credentials, and an endpoint nothing listens on (loopback port 1):
    // only the site catalog's routes lead to the real server. (Never AWS itself: tests
    // send traffic to loopback only.)
    store = createS3Store({
      env: {
        AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        AWS_REGION: 'us-east-1',
      },
      maxAttempts: 1,
      connectTimeoutMs: 1000,
    });
    registerStore(store);
  }, 60_000);

  afterAll(async () => {
    store?.close();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds earlier outputs at the endpoint the site catalog gives', async () => {
    const outUrl = 's3://results/diamond/';
    const l = diamond();
    l.sites.sites.push(
      site('archive', {
        profiles: { aloft: { 's3.endpoint': s3.endpoint, 's3.path-style': 'true' } },
        directories: [
          {
            type: 'sharedStorage',
            path: '/diamond',
            sharedFileSystem: false,
            fileServers: [{ url: outUrl, operation: 'all' }],
          },
        ],
      }),
    );
    const routes = siteS3Routes(l, { site: 'archive', store: outUrl });
    expect(routes).toEqual([{ url: outUrl, endpoint: s3.endpoint, forcePathStyle: true }]);

    // An earlier run put f.d there and recorded its checksum.
    const routed = storeForRoutes(routes);
    const src = path.join(dir, 'f.d');
    await writeFile(src, 'd\n');
    await routed(`${outUrl}f.d`).put(src, `${outUrl}f.d`);
    const catalog = OutputReplicaCatalog.open(path.join(dir, 'output-replicas.yml'));
    await catalog.add([
      { lfn: 'f.d', pfn: `${outUrl}f.d`, site: 'archive', sha256: sha('d\n'), size: 2 },
    ]);
    const catalogs = [{ file: path.join(dir, 'output-replicas.yml'), run: 'runs/diamond-001' }];

    const found = await findExistingOutputs(l, {
      catalogs,
      outputStore: outUrl,
      outputSite: 'archive',
      storeFor: routed,
    });
    expect(found.find((e) => e.lfn === 'f.d')).toMatchObject({
      url: `${outUrl}f.d`,
      present: true,
      sha256: sha('d\n'),
    });

    // Without the site's routes the environment's endpoint is asked: no evidence, no reuse.
    const blind = await findExistingOutputs(l, {
      catalogs,
      outputStore: outUrl,
      outputSite: 'archive',
    });
    expect(blind.find((e) => e.lfn === 'f.d' && e.present)).toBeUndefined();
  }, 60_000);
});
