/**
 * Stores from the site catalog: s3:// file servers as the compute and output sites' stores
 * (stage-in into the compute site's store, inter-site copies between two S3 stores,
 * stage-out to the output site, cleanup deleting from the stores), get/put file servers,
 * the aloft.s3.* settings carried to the jobs that touch those stores, and every bad
 * setting reported at once.
 */
import { describe, expect, test } from 'vitest';
import { isAloftError } from '../../lib/errors/index.js';
import type { Directory, LoadedWorkflow, Profiles } from '../model/index.js';
import { diamond, site } from '../../test/helpers/planner-model.js';
import { decodeOffer, encodeOffer } from '../../proto/codec/index.js';
import {
  defaultPlanOptions,
  plan,
  type Plan,
  type PlannedJob,
  type PlanOptions,
  type StoreAccess,
} from './index.js';

const opts = (o: Partial<PlanOptions> = {}): PlanOptions =>
  defaultPlanOptions({ storeRoot: 'file:///stores/', ...o });

function dir(type: Directory['type'], ...servers: [string, 'all' | 'get' | 'put'][]): Directory {
  return {
    type,
    path: '',
    sharedFileSystem: false,
    fileServers: servers.map(([url, operation]) => ({ url, operation })),
  };
}

function get(p: Plan, id: string): PlannedJob {
  const j = p.jobs.find((x) => x.id === id);
  if (!j) throw new Error(`no job ${id}: ${p.jobs.map((x) => x.id).join(', ')}`);
  return j;
}

function problemsOf(l: LoadedWorkflow, o: PlanOptions): string[] {
  try {
    plan(l, o);
  } catch (e) {
    if (isAloftError(e)) return e.problems.map((p) => `${p.where}: ${p.message}`);
    throw e;
  }
  throw new Error('plan did not fail');
}

const S3_CLOUD: Profiles = {
  aloft: {
    's3.endpoint': 'http://127.0.0.1:9000',
    's3.region': 'eu-west-1',
    's3.path-style': 'true',
  },
};

/** The diamond with ID1 on edge, the rest on cloud; both stores on S3, outputs too. */
function twoS3Sites(): LoadedWorkflow {
  const l = diamond({ sites: ['edge', 'cloud'] });
  for (const j of l.workflow.jobs) {
    j.profiles = { selector: { 'execution.site': j.id === 'ID1' ? 'edge' : 'cloud' } };
  }
  l.sites.sites = [
    site('edge', {
      directories: [dir('sharedScratch', ['s3://radar@edge/scratch/run', 'all'])],
      profiles: { aloft: { 's3.endpoint': 'https://edge-minio.example:9000' } },
    }),
    site('cloud', {
      directories: [dir('sharedScratch', ['s3://cloud-scratch/wf', 'all'])],
      profiles: S3_CLOUD,
    }),
    site('local', {
      directories: [dir('localStorage', ['s3://results/diamond', 'all'])],
    }),
  ];
  return l;
}

describe('s3 stores from the site catalog', () => {
  const p = plan(twoS3Sites(), opts());
  const EDGE = 's3://radar@edge/scratch/run/';
  const CLOUD = 's3://cloud-scratch/wf/';
  const OUT = 's3://results/diamond/';

  test('each site stores in its s3 file server; outputs go to the output site', () => {
    expect(p.stores).toEqual({ edge: EDGE, cloud: CLOUD });
    expect(p.outputStore).toBe(OUT);
    const si = p.jobs.find((j) => j.kind === 'stage_in')!;
    expect(si.site).toBe('edge');
    expect(si.transfers![0]!.dest.url).toBe(`${EDGE}f.a`);
    expect(get(p, 'ID1').inputs).toEqual([{ lfn: 'f.a', url: `${EDGE}f.a` }]);
    expect(get(p, 'ID1').outputs!.map((f) => f.url)).toEqual([`${EDGE}f.b1`, `${EDGE}f.b2`]);
  });

  test('files cross between the two stores by inter-site transfers run on the reading site', () => {
    const inter = p.jobs.filter((j) => j.kind === 'inter_site');
    expect(
      inter.map((j) => [j.site, j.transfers![0]!.sources[0]!.url, j.transfers![0]!.dest.url]),
    ).toEqual([
      ['cloud', `${EDGE}f.b1`, `${CLOUD}f.b1`],
      ['cloud', `${EDGE}f.b2`, `${CLOUD}f.b2`],
    ]);
    expect(get(p, 'stage_out_ID4').transfers![0]).toMatchObject({
      sources: [{ url: `${CLOUD}f.d`, site: 'cloud' }],
      dest: { url: `${OUT}f.d`, site: 'local' },
    });
    expect(get(p, 'register_ID4').registrations).toEqual([
      { lfn: 'f.d', pfn: `${OUT}f.d`, site: 'local' },
    ]);
  });

  test('cleanup deletes from both stores, never from the output store', () => {
    const deleted = p.jobs
      .filter((j) => j.kind === 'cleanup')
      .flatMap((j) => j.deletes!.map((d) => [j.site, d.url]));
    expect(deleted).toContainEqual(['edge', `${EDGE}f.a`]);
    expect(deleted).toContainEqual(['cloud', `${CLOUD}f.b1`]);
    expect(deleted.some(([, url]) => url!.startsWith(OUT))).toBe(false);
  });

  test('the S3 settings of each site travel with every job touching its store, never credentials', () => {
    const edge: StoreAccess = {
      url: EDGE,
      site: 'edge',
      endpoint: 'https://edge-minio.example:9000',
    };
    const cloud: StoreAccess = {
      url: CLOUD,
      site: 'cloud',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      pathStyle: true,
    };
    expect(get(p, 'ID1').storeAccess).toEqual([edge]);
    expect(get(p, 'ID4').storeAccess).toEqual([cloud]);
    for (const j of p.jobs.filter((x) => x.kind === 'inter_site')) {
      expect(j.storeAccess).toEqual([cloud, edge]);
    }
    // The output store's site gives no settings: stage-out carries the source store's only.
    expect(get(p, 'stage_out_ID4').storeAccess).toEqual([cloud]);
    expect(get(p, 'register_ID4').storeAccess).toBeUndefined();
    for (const j of p.jobs.filter((x) => x.kind === 'cleanup')) {
      expect(j.storeAccess).toEqual([j.site === 'edge' ? edge : cloud]);
    }
    // Jobs with the same stores share one list (small plans at 1M jobs).
    expect(get(p, 'ID2').storeAccess).toBe(get(p, 'ID3').storeAccess);
    expect(JSON.stringify(p)).not.toMatch(/secret|access.?key/i);
    expect(p.reasons).toContainEqual({
      subject: 'cloud',
      decision: 'stage',
      message: `agents reach ${CLOUD} with endpoint http://127.0.0.1:9000, region eu-west-1, path-style true (aloft.s3.* profiles of site cloud); credentials come from each agent's environment`,
    });
  });

  test('store settings cross the wire to the agent intact', () => {
    const job = get(p, 'stage_in_edge_0_0');
    const key = { job: job.id, attempt: 1, epoch: 1 };
    expect(decodeOffer(encodeOffer({ key, runId: 'r', job })).job).toStrictEqual(job);
  });

  test('a site on S3 through storeRoot gets its settings too; none without settings', () => {
    const l = diamond({ sites: ['cloud'] });
    l.sites.sites = [site('cloud', { profiles: S3_CLOUD })];
    const q = plan(l, opts({ storeRoot: 's3://bucket/aloft/' }));
    expect(q.stores).toEqual({ cloud: 's3://bucket/aloft/cloud/' });
    expect(get(q, 'ID1').storeAccess).toEqual([
      {
        url: 's3://bucket/aloft/cloud/',
        site: 'cloud',
        endpoint: 'http://127.0.0.1:9000',
        region: 'eu-west-1',
        pathStyle: true,
      },
    ]);
    const bare = plan(diamond({ sites: ['cloud'] }), opts({ storeRoot: 's3://bucket/aloft/' }));
    expect(bare.jobs.some((j) => j.storeAccess !== undefined)).toBe(false);
  });
});

describe('get and put file servers', () => {
  test('a directory with only get servers cannot be written: a problem for a site that stores', () => {
    const l = diamond({ sites: ['hpc'] });
    l.sites.sites = [
      site('hpc', { directories: [dir('sharedScratch', ['http://hpc/scratch', 'get'])] }),
    ];
    expect(problemsOf(l, opts())).toEqual([
      "workflow.yml: site hpc: directory sharedScratch: has only 'get' file servers (http://hpc/scratch): aloft cannot write files there",
    ]);
  });

  test('the output store is read through its get server: registered pfns use it', () => {
    const l = diamond({ sites: ['hpc'] });
    l.sites.sites = [
      site('local', {
        directories: [
          dir('localStorage', ['https://data.example/out', 'get'], ['s3://out-bucket/out', 'put']),
        ],
      }),
    ];
    const p = plan(l, opts());
    expect(p.outputStore).toBe('s3://out-bucket/out/');
    expect(get(p, 'stage_out_ID4').transfers![0]!.dest.url).toBe('s3://out-bucket/out/f.d');
    expect(get(p, 'register_ID4').registrations![0]!.pfn).toBe('https://data.example/out/f.d');
  });
});

describe('bad S3 settings are problems naming the site and key, all at once', () => {
  test('endpoint, region, path-style, unknown keys, credentials (value never shown)', () => {
    const l = diamond({ sites: ['cloud'] });
    l.sources.sites = 'sites.yml';
    l.sites.sites = [
      site('cloud', {
        directories: [dir('sharedScratch', ['s3://b-1/x', 'all'])],
        profiles: {
          aloft: {
            's3.endpoint': 'ftp://minio:9000',
            's3.region': 'eu west',
            's3.path-style': 'sometimes',
            's3.endpont': 'http://x',
            's3.secret-key': 'hunter2-do-not-print',
          },
        },
      }),
      site('edge', { profiles: { aloft: { 's3.endpoint': 'http://user:pw@minio:9000' } } }),
    ];
    const problems = problemsOf(l, opts());
    expect(problems).toEqual([
      'sites.yml: site cloud: profile aloft.s3.endpoint: "ftp://minio:9000" is not an http(s) URL',
      'sites.yml: site cloud: profile aloft.s3.region: "eu west" is not a region name',
      'sites.yml: site cloud: profile aloft.s3.path-style: "sometimes" is not true or false',
      "sites.yml: site cloud: profile aloft.s3.endpont: unknown S3 setting 's3.endpont'",
      'sites.yml: site cloud: profile aloft.s3.secret-key: credentials do not belong in the site catalog (it ends up in plans and logs)',
      'sites.yml: site edge: profile aloft.s3.endpoint: the endpoint URL carries credentials; they do not belong in the site catalog',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems.join('\n')).not.toContain('pw@');
  });

  test('two sites sharing a store must agree on its settings', () => {
    const l = diamond({ sites: ['a', 'b'] });
    const shared = [dir('sharedScratch', ['s3://shared/x', 'all'])];
    l.sites.sites = [
      site('a', { directories: shared, profiles: { aloft: { 's3.region': 'us-east-1' } } }),
      site('b', { directories: shared, profiles: { aloft: { 's3.region': 'eu-west-1' } } }),
    ];
    expect(problemsOf(l, opts())).toEqual([
      'workflow.yml: site b: its aloft.s3.* settings for s3://shared/x/ differ from those of site a, which uses the same store',
    ]);
  });
});
