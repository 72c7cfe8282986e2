/**
 * The TypeScript authoring API: build the diamond, write Pegasus 5 YAML, read it back with
 * the reader and get exactly `toModel()`; the YAML satisfies the 5.0 schema's required
 * keys and types; names are validated at call time.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AloftError } from '../../lib/errors/index.js';
import { readWorkflow } from '../formats/index.js';
import {
  Container,
  Directory,
  File,
  FileServer,
  Job,
  ReplicaCatalog,
  Site,
  SiteCatalog,
  SubWorkflow,
  Transformation,
  TransformationCatalog,
  TransformationSite,
  Workflow,
} from './index.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-api-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const caseDir = async () => {
  const d = path.join(dir, `case${++n}`);
  await mkdir(d);
  return d;
};

function diamond(): {
  wf: Workflow;
  rc: ReplicaCatalog;
  tc: TransformationCatalog;
  sc: SiteCatalog;
} {
  const fa = new File('f.a').addMetadata({ creator: 'me' });
  const fb1 = new File('f.b1', 2048);
  const fb2 = new File('f.b2');
  const fc1 = new File('f.c1');
  const fc2 = new File('f.c2');
  const fd = new File('f.d');
  const log = new File('logs/preprocess.out');

  const rc = new ReplicaCatalog().addReplica('local', fa, 'file:///data/f.a', {
    checksum: { sha256: 'a'.repeat(64) },
  });
  const keg = new Container('centos', Container.DOCKER, 'docker:///centos:7', {
    mounts: ['/data:/data:ro'],
  });
  const tc = new TransformationCatalog()
    .addTransformations(
      new Transformation('preprocess', { site: 'local', pfn: '/usr/bin/tr', isStageable: false }),
      new Transformation('findrange', { namespace: 'diamond', version: '2.0' }).addSites(
        new TransformationSite('local', '/usr/bin/keg', {
          isStageable: true,
          container: keg,
        }).addEnv({
          KEG: '1',
        }),
      ),
      new Transformation('analyze', { site: 'local', pfn: '/usr/bin/wc' })
        .addPegasusProfiles({ cores: 2 })
        .addRequirement('findrange'),
    )
    .addContainers(keg);
  const sc = new SiteCatalog().addSites(
    new Site('local', { arch: 'x86_64', osType: 'linux' })
      .addDirectories(
        new Directory(Directory.SHARED_SCRATCH, '/tmp/scratch').addFileServers(
          new FileServer('file:///tmp/scratch', FileServer.ALL),
        ),
      )
      .addEnv({ PATH: '/usr/bin:/bin' }),
  );

  const wf = new Workflow('diamond')
    .addJobs(
      new Job('preprocess')
        .addArgs('-i', fa, '-o', fb1, fb2, '-n', 3)
        .addInputs(fa)
        .addOutputs(fb1, fb2, { stageOut: true, registerReplica: true })
        .addProfiles('env', { FOO: 'bar' })
        .setStdout(log, { stageOut: false }),
      new Job('findrange', { namespace: 'diamond', version: '2.0' })
        .addArgs('-i', fb1, '-o', fc1)
        .addInputs(fb1)
        .addOutputs(fc1, { registerReplica: false }),
      new Job('findrange', { namespace: 'diamond', version: '2.0' })
        .addArgs('-i', fb2, '-o', fc2)
        .addInputs(fb2)
        .addOutputs(fc2),
      new Job('analyze', { nodeLabel: 'final' })
        .addArgs('-i', fc1, fc2, '-o', fd)
        .addInputs(fc1, fc2)
        .addOutputs(fd)
        .addMetadata({ step: 4 }),
    )
    .addMetadata({ createdBy: 'aloft-test' })
    .addTransformationCatalog(tc)
    .addReplicaCatalog(rc);
  return { wf, rc, tc, sc };
}

describe('diamond round trip', () => {
  it('write → readWorkflow gives exactly toModel()', async () => {
    const d = await caseDir();
    const { wf } = diamond();
    const file = path.join(d, 'workflow.yml');
    await wf.write(file);
    const loaded = await readWorkflow(file);
    expect(loaded.workflow).toEqual(wf.toModel());
    expect(loaded.warnings).toEqual([]);

    const model = wf.toModel();
    expect(model.jobs.map((j) => j.id)).toEqual([
      'ID0000001',
      'ID0000002',
      'ID0000003',
      'ID0000004',
    ]);
    expect(model.dependencies).toEqual([
      { id: 'ID0000001', children: ['ID0000002', 'ID0000003'] },
      { id: 'ID0000002', children: ['ID0000004'] },
      { id: 'ID0000003', children: ['ID0000004'] },
    ]);
    const pre = model.jobs[0];
    expect(pre?.arguments).toEqual(['-i', 'f.a', '-o', 'f.b1', 'f.b2', '-n', '3']);
    expect(pre?.stdout).toBe('logs/preprocess.out');
    expect(pre?.profiles).toEqual({ env: { FOO: 'bar' } });
    expect(pre?.uses.map((u) => [u.lfn, u.link, u.stageOut, u.registerReplica, u.size])).toEqual([
      ['f.a', 'input', false, false, undefined],
      ['f.b1', 'output', true, true, 2048],
      ['f.b2', 'output', true, true, undefined],
      ['logs/preprocess.out', 'output', false, true, undefined],
    ]);
    expect(pre?.uses[0]?.metadata).toEqual({ creator: 'me' });
    expect(model.jobs[1]?.uses[1]?.registerReplica).toBe(false);
    expect(model.jobs[3]).toMatchObject({ nodeLabel: 'final', metadata: { step: '4' } });
    // Inline catalogs are on the model and in the loaded catalogs.
    expect(loaded.transformations.transformations.map((t) => t.name)).toEqual([
      'preprocess',
      'findrange',
      'analyze',
    ]);
    expect(loaded.transformations.transformations[1]?.sites[0]).toMatchObject({
      type: 'stageable',
      container: 'centos',
      profiles: { env: { KEG: '1' } },
    });
    expect(loaded.transformations.transformations[2]?.requires).toEqual(['findrange']);
    expect(loaded.replicas.replicas[0]?.checksum).toEqual({
      type: 'sha256',
      value: 'a'.repeat(64),
    });
    expect(loaded.transformations.containers[0]?.mounts).toEqual(['/data:/data:ro']);
  });

  it('toLoaded() equals reading the written file when no catalog files lie beside it', async () => {
    const d = await caseDir();
    const { wf, sc } = diamond();
    wf.addSiteCatalog(sc);
    await wf.write(path.join(d, 'workflow.yml'));
    const loaded = await readWorkflow(path.join(d, 'workflow.yml'));
    const direct = wf.toLoaded();
    expect(direct.workflow).toEqual(loaded.workflow);
    expect(direct.replicas).toEqual(loaded.replicas);
    expect(direct.transformations).toEqual(loaded.transformations);
    expect(direct.sites).toEqual(loaded.sites);
    expect(direct.sites.sites.map((s) => s.name)).toEqual(['local']);
    expect(direct.sources.workflow).toBe('Workflow(diamond)');
  });

  it('the YAML has the 5.0 schema required keys with the right types', async () => {
    const d = await caseDir();
    const { wf } = diamond();
    await wf.write(path.join(d, 'workflow.yml'));
    const text = await readFile(path.join(d, 'workflow.yml'), 'utf8');
    // Read with YAML's core schema, as a JSON-schema validator of Pegasus files would.
    const doc = yaml.load(text) as Record<string, unknown>;
    expect(doc['pegasus']).toBe('5.0.4');
    expect(doc['name']).toBe('diamond');
    const jobs = doc['jobs'] as Record<string, unknown>[];
    expect(jobs).toHaveLength(4);
    for (const job of jobs) {
      expect(job['type']).toBe('job');
      expect(typeof job['id']).toBe('string');
      expect(typeof job['name']).toBe('string');
      expect(Array.isArray(job['arguments'])).toBe(true);
      for (const u of job['uses'] as Record<string, unknown>[]) {
        expect(typeof u['lfn']).toBe('string');
        expect(['input', 'output', 'checkpoint']).toContain(u['type']);
        if (u['type'] === 'output') {
          expect(typeof u['stageOut']).toBe('boolean');
          expect(typeof u['registerReplica']).toBe('boolean');
        }
      }
    }
    expect(jobs[1]?.['version']).toBe('2.0');
    for (const dep of doc['jobDependencies'] as Record<string, unknown>[]) {
      expect(typeof dep['id']).toBe('string');
      expect((dep['children'] as unknown[]).length).toBeGreaterThan(0);
    }
    const tc = doc['transformationCatalog'] as { transformations: Record<string, unknown>[] };
    for (const t of tc.transformations) {
      for (const s of t['sites'] as Record<string, unknown>[]) {
        expect(Object.keys(s)).toEqual(expect.arrayContaining(['name', 'type', 'pfn']));
      }
    }
    const rc = doc['replicaCatalog'] as { replicas: Record<string, unknown>[] };
    expect(rc.replicas[0]).toMatchObject({
      lfn: 'f.a',
      pfns: [{ site: 'local', pfn: 'file:///data/f.a' }],
    });
  });

  it('catalogs written to their own files are discovered beside the workflow', async () => {
    const d = await caseDir();
    const { rc, tc, sc } = diamond();
    const wf = new Workflow('solo').addJobs(
      new Job('analyze').addInputs('f.a').addOutputs('out.txt'),
    );
    await Promise.all([
      wf.write(path.join(d, 'workflow.yml')),
      rc.write(path.join(d, 'replicas.yml')),
      tc.write(path.join(d, 'transformations.yml')),
      sc.write(path.join(d, 'sites.yml')),
    ]);
    const l = await readWorkflow(path.join(d, 'workflow.yml'));
    expect(l.warnings).toEqual([]);
    expect(l.sources.replicas).toBe(path.join(d, 'replicas.yml'));
    expect(l.replicas.replicas.map((r) => r.lfn)).toEqual(['f.a']);
    expect(l.transformations.transformations).toHaveLength(3);
    expect(l.transformations.containers.map((c) => c.name)).toEqual(['centos']);
    expect(l.sites.sites[0]).toMatchObject({
      name: 'local',
      arch: 'x86_64',
      osType: 'linux',
      profiles: { env: { PATH: '/usr/bin:/bin' } },
      directories: [
        {
          type: 'sharedScratch',
          path: '/tmp/scratch',
          sharedFileSystem: false,
          fileServers: [{ url: 'file:///tmp/scratch', operation: 'all' }],
        },
      ],
    });
    expect(l.workflow.dependencies).toEqual([]);
    const text = await readFile(path.join(d, 'replicas.yml'), 'utf8');
    expect((yaml.load(text) as Record<string, unknown>)['pegasus']).toBe('5.0.4');
  });
});

describe('ids and dependencies', () => {
  it('assigns the next free ID, rejects duplicates', () => {
    const wf = new Workflow('w').addJobs(new Job('t', { id: 'ID0000001' }), new Job('t'));
    expect(wf.jobs.map((j) => j.id)).toEqual(['ID0000001', 'ID0000002']);
    expect(() => wf.addJobs(new Job('t', { id: 'ID0000002' }))).toThrow(/duplicate job id/);
  });

  it('explicit dependencies, with inference off', () => {
    const a = new Job('t').addOutputs('x');
    const b = new Job('t').addInputs('x');
    const c = new Job('t', { id: 'last' });
    const wf = new Workflow('w', { inferDependencies: false })
      .addJobs(a, b, c)
      .addDependency(c, { parents: [a, 'ID0000002'] });
    expect(wf.toModel().dependencies).toEqual([
      { id: 'ID0000001', children: ['last'] },
      { id: 'ID0000002', children: ['last'] },
    ]);
    const inferred = new Workflow('w2').addJobs(a, b);
    expect(inferred.toModel().dependencies).toEqual([{ id: 'ID0000001', children: ['ID0000002'] }]);
  });

  it('a dependency on a job that is not in the workflow fails when writing', () => {
    const stray = new Job('t');
    const wf = new Workflow('w')
      .addJobs(new Job('t'))
      .addDependency('ID0000001', { children: [stray] });
    expect(() => wf.toDocument()).toThrow(/is not in the workflow/);
  });

  it('sub-workflows become pegasusWorkflow / condorWorkflow jobs with their file as input', () => {
    const wf = new Workflow('outer').addJobs(
      new SubWorkflow('inner.yml', { id: 'sub' }).addArgs('--sites', 'local'),
      new SubWorkflow(new File('inner.dag'), { isPlanned: true }),
    );
    const m = wf.toModel();
    expect(m.jobs.map((j) => [j.id, j.type, j.file, j.uses[0]?.lfn, j.uses[0]?.link])).toEqual([
      ['sub', 'pegasusWorkflow', 'inner.yml', 'inner.yml', 'input'],
      ['ID0000001', 'condorWorkflow', 'inner.dag', 'inner.dag', 'input'],
    ]);
  });
});

describe('validation at call time', () => {
  const invalid = (f: () => unknown, message: RegExp) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(AloftError);
      expect((e as AloftError).code).toBe('INVALID_ARGUMENT');
      expect((e as AloftError).message).toMatch(message);
      return;
    }
    expect.unreachable('expected an INVALID_ARGUMENT error');
  };

  it('rejects bad names and values', () => {
    invalid(() => new File('../etc/passwd'), /'\.\.' segment/);
    invalid(() => new File('/abs'), /absolute/);
    invalid(() => new File('ok', -1), /whole number/);
    invalid(() => new Job('bad name'), /transformation name/);
    invalid(() => new Job('t', { id: 'a.b' }), /job id/);
    invalid(() => new Job('t').addInputs('a\\b'), /contains '\\'/);
    invalid(() => new Workflow('a/b'), /workflow name/);
    invalid(() => new Site('..'), /site name/);
    invalid(() => new Transformation('t', { site: 'local' }), /both site and pfn/);
    invalid(() => new TransformationSite('local', ''), /pfn is empty/);
    invalid(() => new Container('c', 'podman' as never, 'x'), /container type/);
    invalid(() => new Directory('scratch' as never, '/x'), /directory type/);
    invalid(() => new FileServer('file:///x', 'both' as never), /operation/);
    invalid(() => new ReplicaCatalog().addReplica('local', 'f', ''), /pfn is empty/);
    invalid(() => new ReplicaCatalog().addRegexReplica('local', '(', 'x'), /regular expression/);
    invalid(() => new Job('t').addProfiles('weird', { a: 1 }), /unknown profile namespace/);
    invalid(() => new Job('t').addEnv({ 'A=B': 1 }), /environment variable name/);
    invalid(() => new Job('t').addInputs('f').addOutputs('f'), /already used/);
    invalid(() => new Transformation('t').toDocument(), /at least one site/);
    invalid(() => new Job('t').toDocument(), /has no id/);
  });
});
