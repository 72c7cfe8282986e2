/**
 * The reader's leniency, defaults, catalog discovery and precedence, on small real files
 * and on parsed documents (JSON-shaped input with numbers and booleans).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expandVars,
  readWorkflow,
  replicaCatalogFromDocument,
  siteCatalogFromDocument,
  transformationCatalogFromDocument,
  workflowFromDocument,
} from './index.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function layout(files: Record<string, string>): Promise<string> {
  const d = path.join(dir, `case${++n}`);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(d, name)), { recursive: true });
    await writeFile(path.join(d, name), text);
  }
  return d;
}

const WF = 'pegasus: 5.0.4\nname: w\njobs:\n  - {id: j1, name: t}\n';
const rc = (pfn: string) =>
  `pegasus: "5.0"\nreplicas:\n  - lfn: f.a\n    pfns: [{site: local, pfn: "${pfn}"}]\n`;

describe('leniency (as Pegasus reads it)', () => {
  it('jobs without type, integer sizes, x-* keys anywhere, scalars as strings', () => {
    const warnings: string[] = [];
    const wf = workflowFromDocument(
      {
        'x-pegasus': { apiLang: 'python' },
        pegasus: '5.0',
        name: 'w',
        jobs: [
          {
            id: 'j1',
            name: 't',
            'x-note': 'ignored',
            arguments: ['-n', '3', 'true'],
            uses: [{ lfn: 'f.b', type: 'output', size: '1024', 'x-y': 1 }],
            profiles: { env: { A: '1', 'x-z': 'no' }, 'x-ns': { a: 'b' } },
            metadata: { owner: 'me', 'x-skip': 'me' },
          },
        ],
      },
      'w.yml',
      {},
      warnings,
    );
    expect(warnings).toEqual([]);
    const j = wf.jobs[0];
    expect(j?.type).toBe('job');
    expect(j?.uses[0]?.size).toBe(1024);
    expect(j?.profiles).toEqual({ env: { A: '1' } });
    expect(j?.metadata).toEqual({ owner: 'me' });
    expect(wf.extensions).toEqual({});
  });

  it('JSON-shaped values: numbers and booleans are accepted and normalised', () => {
    const wf = workflowFromDocument(
      {
        pegasus: 5,
        name: 'w',
        jobs: [
          {
            id: 7,
            name: 't',
            version: 4.0,
            arguments: [1, 1.5, true],
            uses: [
              { lfn: 'f.b', type: 'output', stageOut: false, metadata: { size: 2048 } },
              { lfn: 'f.a', type: 'input', bypass: 'True' },
            ],
            profiles: { pegasus: { cores: 4 } },
          },
        ],
      },
      'w.json',
      {},
    );
    const j = wf.jobs[0];
    expect(wf.pegasusVersion).toBe('5');
    expect(j?.id).toBe('7');
    expect(j?.version).toBe('4');
    expect(j?.arguments).toEqual(['1', '1.5', 'true']);
    expect(j?.uses[0]).toMatchObject({ stageOut: false, registerReplica: true, size: 2048 });
    expect(j?.uses[1]).toMatchObject({ bypass: true, stageOut: false });
    expect(j?.profiles).toEqual({ pegasus: { cores: '4' } });
  });

  it('FileUse defaults: outputs and checkpoints stage out and register, inputs do not', () => {
    const wf = workflowFromDocument(
      {
        pegasus: '5.0',
        name: 'w',
        jobs: [
          {
            id: 'j',
            name: 't',
            uses: [
              { lfn: 'i', type: 'input' },
              { lfn: 'o', type: 'output' },
              { lfn: 'c', type: 'checkpoint', optional: 'yes' },
            ],
          },
        ],
      },
      'w.yml',
      {},
    );
    const [i, o, c] = wf.jobs[0]?.uses ?? [];
    const flags = (u: typeof i) => [u?.stageOut, u?.registerReplica, u?.bypass, u?.forPlanning];
    expect(flags(i)).toEqual([false, false, false, false]);
    expect(flags(o)).toEqual([true, true, false, false]);
    expect(flags(c)).toEqual([true, true, false, false]);
    expect(c?.optional).toBe(true);
    expect(o?.metadata).toEqual({});
    expect(wf.jobs[0]?.arguments).toEqual([]);
    expect(wf.dependencies).toEqual([]);
  });

  it('common file uses read exactly as the general reader reads them (fields and key order)', () => {
    const uses: Record<string, unknown>[] = [
      { lfn: 'a', type: 'input' },
      { lfn: 'd/b.txt', type: 'output' },
      { lfn: 'c', type: 'checkpoint' },
      { lfn: 'e', type: 'output', stageOut: 'false', registerReplica: 'true' },
      { type: 'output', lfn: 'f', optional: 'true', stageOut: false },
      { lfn: 'g', type: 'input', bypass: true, forPlanning: 'false' },
      { lfn: 'h', type: 'input', forPlanning: 'true', optional: false },
    ];
    const read = (list: Record<string, unknown>[]) =>
      workflowFromDocument(
        { pegasus: '5.0', name: 'w', jobs: [{ id: 'j', name: 't', uses: list }] },
        'w.yml',
        {},
      ).jobs[0]?.uses;
    // An x-* key is ignored by the reader but keeps the entry off the common-shape path.
    const general = read(uses.map((u) => ({ ...u, 'x-path': 'general' })));
    expect(JSON.stringify(read(uses))).toBe(JSON.stringify(general));
  });

  it('a workflow read from a file equals the same document converted by workflowFromDocument', async () => {
    const d = await layout({
      'workflow.yml': [
        'pegasus: 5.0.4',
        'name: w',
        'jobs:',
        '- {type: job, name: t, id: A, arguments: [-o, f.a], uses: [{lfn: f.a, type: output}]}',
        '- {type: job, name: t, id: B, arguments: [f.a], uses: [{lfn: f.a, type: input}]}',
        '- {type: job, name: t, id: C}',
        'jobDependencies:',
        '- {id: A, children: [B, C]}',
        '- {children: [C], id: B}',
        '',
      ].join('\n'),
      'transformations.yml': 'pegasus: "5.0"\ntransformations: []\n',
    });
    const loaded = await readWorkflow(path.join(d, 'workflow.yml'), { env: {} });
    const doc = {
      pegasus: '5.0.4',
      name: 'w',
      jobs: [
        {
          type: 'job',
          name: 't',
          id: 'A',
          arguments: ['-o', 'f.a'],
          uses: [{ lfn: 'f.a', type: 'output' }],
        },
        {
          type: 'job',
          name: 't',
          id: 'B',
          arguments: ['f.a'],
          uses: [{ lfn: 'f.a', type: 'input' }],
        },
        { type: 'job', name: 't', id: 'C' },
      ],
      jobDependencies: [
        { id: 'A', children: ['B', 'C'] },
        { children: ['C'], id: 'B' },
      ],
    };
    const converted = workflowFromDocument(doc, 'w.yml', {});
    expect(JSON.stringify(loaded.workflow)).toBe(JSON.stringify(converted));
    // The caller's document is not shared with the model it converted.
    expect(converted.dependencies[0]).not.toBe(doc.jobDependencies[0]);
    expect(converted.jobs[0]?.arguments).not.toBe(doc.jobs[0]?.arguments);
  });

  it('accepts 5.0 and 5.0.x; empty values count as absent', () => {
    for (const v of ['5.0', '5.0.4', '5.0.10', '5']) {
      expect(
        workflowFromDocument({ pegasus: v, name: 'w', jobs: [] }, 'w', {}).pegasusVersion,
      ).toBe(v);
    }
    const wf = workflowFromDocument(
      {
        pegasus: '5.0',
        name: 'w',
        jobs: [{ id: 'j', name: 't', uses: null, arguments: null, stdout: null }],
      },
      'w',
      {},
    );
    expect(wf.jobs[0]).toEqual({
      id: 'j',
      type: 'job',
      name: 't',
      arguments: [],
      uses: [],
      profiles: {},
      metadata: {},
    });
  });

  it('unknown keys and profile namespaces are warned about, schema keys we do not use are not', () => {
    const warnings: string[] = [];
    workflowFromDocument(
      {
        pegasus: '5.0',
        name: 'w',
        hooks: { shell: [{ _on: 'error', cmd: '/bin/true' }] },
        colour: 'blue',
        jobs: [
          {
            id: 'j1',
            name: 't',
            hooks: {},
            retries: '3',
            profiles: { weird: { a: 'b' } },
            uses: [{ lfn: 'x', type: 'input', executable: 'true', flavour: 'mint' }],
          },
        ],
      },
      'w.yml',
      {},
      warnings,
    );
    expect(warnings).toEqual([
      'w.yml: colour: unknown key in the workflow, ignored',
      'w.yml: jobs[0].retries (job j1): unknown key in a job, ignored',
      'w.yml: jobs[0].uses[0].flavour (job j1): unknown key in a file use, ignored',
      "w.yml: jobs[0].profiles.weird (job j1): unknown profile namespace 'weird', ignored",
    ]);
  });

  it('x-aloft at the top level is kept in extensions (with ${VAR} expanded)', () => {
    const wf = workflowFromDocument(
      {
        pegasus: '5.0',
        name: 'w',
        jobs: [],
        'x-aloft': { retries: '3', dir: '${D}/x', list: ['a'] },
      },
      'w',
      { D: '/data' },
    );
    expect(wf.extensions).toEqual({ retries: '3', dir: '/data/x', list: ['a'] });
  });

  it('sub-workflow jobs: pegasusWorkflow and condorWorkflow', () => {
    const wf = workflowFromDocument(
      {
        pegasus: '5.0',
        name: 'w',
        jobs: [
          { id: 's1', type: 'pegasusWorkflow', file: 'inner.yml' },
          { id: 's2', type: 'condorWorkflow', file: 'inner.dag' },
        ],
      },
      'w',
      {},
    );
    expect(wf.jobs.map((j) => [j.type, j.namespace, j.name, j.file])).toEqual([
      ['pegasusWorkflow', 'pegasus', 'pegasus-plan', 'inner.yml'],
      ['condorWorkflow', 'condor', 'dagman', 'inner.dag'],
    ]);
  });
});

describe('${VAR} expansion', () => {
  it('expands, escapes with $${...}, leaves other dollars alone', () => {
    const missing: string[] = [];
    const out = expandVars('${A}/x $${A} $A $$ ${} ${1X} $(date) ${B}', { A: 'a' }, (name) =>
      missing.push(name),
    );
    expect(out).toBe('a/x ${A} $A $$ ${} ${1X} $(date) ${B}');
    expect(missing).toEqual(['B']);
    expect(expandVars('${E}', { E: '' }, () => expect.unreachable())).toBe('');
  });

  it('applies to workflow values and catalog values alike', () => {
    const wf = workflowFromDocument(
      { pegasus: '5.0', name: 'w', jobs: [{ id: 'j', name: 't', arguments: ['${X}', '$${X}'] }] },
      'w',
      { X: 'val' },
    );
    expect(wf.jobs[0]?.arguments).toEqual(['val', '${X}']);
  });
});

describe('catalog converters', () => {
  it('standalone catalogs without a pegasus key are read, with a warning', () => {
    const warnings: string[] = [];
    const sc = siteCatalogFromDocument(
      {
        sites: [
          {
            name: 'edge-1',
            directories: [
              {
                type: 'sharedStorage',
                path: '/d',
                freeSize: '10GB',
                totalSize: 2048,
                fileServers: [{ url: 's3://bucket/d' }],
              },
            ],
          },
        ],
      },
      'sites.yml',
      {},
      warnings,
    );
    expect(warnings).toEqual(["sites.yml: no 'pegasus:' version key; read as Pegasus 5.0"]);
    expect(sc.sites[0]?.directories[0]).toEqual({
      type: 'sharedStorage',
      path: '/d',
      sharedFileSystem: false,
      freeSize: 10 * 1024 ** 3,
      totalSize: 2048,
      fileServers: [{ url: 's3://bucket/d', operation: 'all' }],
    });
  });

  it('replica checksums and transformation defaults', () => {
    const digest = 'AB'.repeat(32);
    const rcm = replicaCatalogFromDocument(
      {
        pegasus: '5.0',
        replicas: [
          { lfn: 'f.a', checksum: { sha256: digest }, pfns: [{ site: 'local', pfn: '/f' }] },
        ],
      },
      'rc.yml',
      {},
    );
    expect(rcm.replicas[0]?.checksum).toEqual({ type: 'sha256', value: digest.toLowerCase() });
    const tc = transformationCatalogFromDocument(
      {
        pegasus: '5.0',
        transformations: [{ name: 't', sites: [{ name: 'local', pfn: '/bin/t' }] }],
      },
      'tc.yml',
      {},
    );
    expect(tc.transformations[0]).toEqual({
      name: 't',
      requires: [],
      sites: [
        {
          name: 'local',
          pfn: '/bin/t',
          type: 'installed',
          bypass: false,
          profiles: {},
          metadata: {},
        },
      ],
      profiles: {},
      metadata: {},
    });
    expect(tc.containers).toEqual([]);
  });

  it('an inline catalog that is a $ref is ignored with a warning', () => {
    const warnings: string[] = [];
    const wf = workflowFromDocument(
      { pegasus: '5.0', name: 'w', jobs: [], replicaCatalog: { $ref: 'https://x/rc.yml' } },
      'w.yml',
      {},
      warnings,
    );
    expect(wf.replicaCatalog).toEqual({ replicas: [] });
    expect(warnings).toEqual([
      'w.yml: replicaCatalog: refers to "https://x/rc.yml" ($ref), which aloft does not fetch; ignored — give a replica catalog file instead',
    ]);
  });

  it('an inline site catalog without pegasus: is fine and silent', () => {
    const warnings: string[] = [];
    const wf = workflowFromDocument(
      { pegasus: '5.0', name: 'w', jobs: [], siteCatalog: { sites: [{ name: 'local' }] } },
      'w',
      {},
      warnings,
    );
    expect(warnings).toEqual([]);
    expect(wf.siteCatalog?.sites.map((s) => s.name)).toEqual(['local']);
  });
});

describe('catalog discovery and precedence', () => {
  it('beside the workflow wins over catalogs/, an explicit path wins over both', async () => {
    const d = await layout({
      'workflow.yml': WF,
      'replicas.yml': rc('file:///beside'),
      'catalogs/replicas.yml': rc('file:///folder'),
      'catalogs/sites.yml': 'pegasus: "5.0"\nsites: [{name: local}]\n',
      'other.yml': rc('file:///explicit'),
    });
    const a = await readWorkflow(path.join(d, 'workflow.yml'));
    expect(a.replicas.replicas[0]?.pfns[0]?.pfn).toBe('file:///beside');
    expect(a.sources).toEqual({
      workflow: path.join(d, 'workflow.yml'),
      replicas: path.join(d, 'replicas.yml'),
      sites: path.join(d, 'catalogs', 'sites.yml'),
    });
    expect(a.transformations).toEqual({ transformations: [], containers: [] });
    const b = await readWorkflow(path.join(d, 'workflow.yml'), {
      replicas: path.join(d, 'other.yml'),
    });
    expect(b.replicas.replicas[0]?.pfns[0]?.pfn).toBe('file:///explicit');
  });

  it('inline catalog entries win over file entries with the same key; the rest merge', async () => {
    const d = await layout({
      'workflow.yml': [
        'pegasus: "5.0"',
        'name: w',
        'replicaCatalog:',
        '  replicas:',
        '    - {lfn: f.a, pfns: [{site: local, pfn: "file:///inline"}]}',
        'transformationCatalog:',
        '  transformations:',
        '    - {name: t, sites: [{name: local, pfn: /inline/t, type: installed}]}',
        'siteCatalog:',
        '  sites: [{name: local, profiles: {env: {WHO: inline}}}]',
        'jobs: [{id: j1, name: t}]',
      ].join('\n'),
      'replicas.yml': `${rc('file:///file')}  - lfn: f.b\n    pfns: [{site: local, pfn: "file:///file-b"}]\n`,
      'transformations.yml':
        'pegasus: "5.0"\ntransformations:\n  - {name: t, sites: [{name: local, pfn: /file/t}]}\n  - {name: u, sites: [{name: local, pfn: /file/u}]}\n',
      'sites.yml': 'pegasus: "5.0"\nsites: [{name: local}, {name: remote}]\n',
    });
    const l = await readWorkflow(path.join(d, 'workflow.yml'));
    expect(l.replicas.replicas.map((r) => r.pfns[0]?.pfn)).toEqual([
      'file:///inline',
      'file:///file-b',
    ]);
    expect(l.transformations.transformations.map((t) => t.sites[0]?.pfn)).toEqual([
      '/inline/t',
      '/file/u',
    ]);
    expect(l.sites.sites.map((s) => [s.name, s.profiles['env']?.['WHO']])).toEqual([
      ['local', 'inline'],
      ['remote', undefined],
    ]);
    // The inline catalogs stay on the workflow as written.
    expect(l.workflow.replicaCatalog?.replicas).toHaveLength(1);
  });

  it('honours an AbortSignal', async () => {
    const d = await layout({ 'workflow.yml': WF });
    const ac = new AbortController();
    ac.abort();
    await expect(
      readWorkflow(path.join(d, 'workflow.yml'), { signal: ac.signal }),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('relative pfns (aloft extension)', () => {
  it('resolve against the directory of the file that names them', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-anchor-'));
    await mkdir(path.join(dir, 'cat'));
    await writeFile(
      path.join(dir, 'workflow.yml'),
      'pegasus: "5.0"\nname: w\nreplicaCatalog:\n  replicas:\n  - lfn: a\n    pfns: [{site: local, pfn: data/a}]\n  - lfn: u\n    pfns: [{site: local, pfn: "http://127.0.0.1/u"}]\njobs: []\n',
    );
    await writeFile(
      path.join(dir, 'cat', 'tc.yml'),
      'transformations:\n- name: t\n  sites: [{name: local, pfn: bin/t, type: stageable}, {name: hpc, pfn: /abs/t, type: installed}]\n',
    );
    const loaded = await readWorkflow(path.join(dir, 'workflow.yml'), {
      transformations: path.join(dir, 'cat', 'tc.yml'),
    });
    const pfns = loaded.replicas.replicas.map((r) => r.pfns[0]!.pfn);
    expect(pfns).toEqual([path.join(dir, 'data', 'a'), 'http://127.0.0.1/u']);
    expect(loaded.transformations.transformations[0]!.sites.map((s) => s.pfn)).toEqual([
      path.join(dir, 'cat', 'bin', 't'),
      '/abs/t',
    ]);
  });
});
