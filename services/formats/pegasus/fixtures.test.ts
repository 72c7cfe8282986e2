/**
 * Every Pegasus 5 workflow in the shared fixtures parses with its catalogs, and concrete
 * facts from each come out right.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED } from '../../../test/helpers/cli.js';
import type { Job, LoadedWorkflow } from '../../model/types.js';
import { readWorkflow } from './index.js';

const P = path.join(SHARED, 'workflows', 'pegasus');
const ENV = { PWD: '/work/run', HOME: '/home/alice' };

const HIER_INNER = 'pegasus-analyzer-hierarchical/00/00/blackdiamond_diamond_subworkflow.000';

/** Each workflow fixture, with the catalog files that go with it where discovery can't tell. */
const WORKFLOWS: Record<string, { replicas?: string; transformations?: string; sites?: string }> = {
  'pegasus-etc-diamond/workflow.yml': {
    replicas: 'pegasus-etc-diamond/rc.yml',
    transformations: 'pegasus-etc-diamond/tc.yml',
    sites: 'pegasus-etc-diamond/sc.yml',
  },
  'pegasus-junit-parser-diamond/workflow.yml': {},
  'pegasus-test052-blackdiamond/workflow.yml': {},
  'pegasus-analyzer-hierarchical/workflow.yml': {},
  [`${HIER_INNER}/inner_diamond_workflow.yml`]: {
    transformations: `${HIER_INNER}/catalogs/inner_diamond_workflow_tc.yml`,
  },
  'pegasus-analyzer-process/workflow.yml': {},
  'pegasus-analyzer-drug-combination/workflow.yml': {},
  'prokevo/workflow.yml': {},
};

function read(rel: string): Promise<LoadedWorkflow> {
  const opts = WORKFLOWS[rel] ?? {};
  const abs = (p?: string) => (p === undefined ? undefined : path.join(P, p));
  return readWorkflow(path.join(P, rel), {
    replicas: abs(opts.replicas),
    transformations: abs(opts.transformations),
    sites: abs(opts.sites),
    env: ENV,
  });
}

function job(l: LoadedWorkflow, id: string): Job {
  const j = l.workflow.jobs.find((x) => x.id === id);
  if (!j) throw new Error(`no job ${id}`);
  return j;
}

function edgeCount(l: LoadedWorkflow): number {
  return l.workflow.dependencies.reduce((n, d) => n + d.children.length, 0);
}

function findWorkflowFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'catalogs' && name !== '_schema-5.0') out.push(...findWorkflowFiles(p));
    } else if (/workflow\.yml$/.test(name)) out.push(path.relative(P, p));
  }
  return out.sort();
}

describe.skipIf(!existsSync(P))('Pegasus fixtures', () => {
  it('the list above covers every workflow file in the fixtures', () => {
    expect(findWorkflowFiles(P)).toEqual(Object.keys(WORKFLOWS).sort());
  });

  it.each(Object.keys(WORKFLOWS))('%s parses with its catalogs', async (rel) => {
    const l = await read(rel);
    expect(l.workflow.jobs.length).toBeGreaterThan(0);
    expect(l.workflow.pegasusVersion).toMatch(/^5\.0/);
    expect(l.sources.workflow).toBe(path.join(P, rel));
    // Model invariants: collections present, scalars as strings.
    for (const j of l.workflow.jobs) {
      expect(Array.isArray(j.arguments) && j.arguments.every((a) => typeof a === 'string')).toBe(
        true,
      );
      for (const u of j.uses) expect(typeof u.stageOut).toBe('boolean');
    }
  });

  it('pegasus-etc-diamond: inline catalogs, $ref site catalog, mixed arguments, rc/tc/sc samples', async () => {
    const l = await read('pegasus-etc-diamond/workflow.yml');
    const wf = l.workflow;
    expect(wf.name).toBe('diamond');
    expect(wf.pegasusVersion).toBe('5.0');
    expect(wf.jobs).toHaveLength(4);
    expect(edgeCount(l)).toBe(4);
    expect(wf.profiles).toEqual({ env: { JAVA_HOME: '/opt/java/1.6' } });
    expect(wf.metadata).toEqual({ createdBy: 'ryan' });
    const pre = job(l, 'ID000001');
    expect(pre).toMatchObject({ name: 'preprocess', namespace: 'diamond', version: '2.0' });
    expect(pre.stdin).toBe('stdin_file.txt');
    expect(pre.arguments.slice(-3)).toEqual(['-nums', '1', '1.1']);
    const fb1 = pre.uses.find((u) => u.lfn === 'f.b1');
    expect(fb1).toMatchObject({
      link: 'output',
      stageOut: true,
      registerReplica: false,
      size: 2048,
      metadata: { size: '2048' },
    });
    expect(pre.uses.find((u) => u.lfn === 'f.a')).toMatchObject({
      link: 'input',
      stageOut: false,
      registerReplica: false,
      bypass: false,
    });
    // $ref site catalog: ignored with a warning; sites come from sc.yml.
    expect(l.warnings.some((w) => /\$ref/.test(w) && w.includes('siteCatalog'))).toBe(true);
    expect(wf.siteCatalog).toEqual({ sites: [] });
    expect(l.sites.sites.map((s) => s.name)).toEqual(['local', 'condor_pool', 'staging_site']);
    const local = l.sites.sites[0];
    expect(local?.profiles).toEqual({ env: { PATH: '/usr/bin:/bin' } }); // x-ext dropped
    expect(local?.osType).toBe('linux');
    expect(local?.directories.map((d) => d.type)).toEqual(['sharedScratch', 'localStorage']);
    expect(l.sites.sites[2]?.directories[0]?.fileServers).toEqual([
      { url: 'scp://obelix.isi.edu/data', operation: 'put' },
      { url: 'http://obelix.isi.edu/data', operation: 'get' },
    ]);
    // Replicas: the inline f.a wins over rc.yml's plain f.a; rc.yml's regex entry is kept.
    expect(l.replicas.replicas).toHaveLength(2);
    expect(l.replicas.replicas[0]?.pfns[0]?.pfn).toMatch(/grid-blackdiamond-perl\/f\.a$/);
    expect(l.replicas.replicas[1]).toMatchObject({ lfn: 'f.a', regex: true });
    // Transformations: inline keg + anotherTr, then tc.yml's foo + bar.
    expect(l.transformations.transformations.map((t) => t.name)).toEqual([
      'keg',
      'anotherTr',
      'foo',
      'bar',
    ]);
    const keg = l.transformations.transformations[0];
    expect(keg).toMatchObject({ namespace: 'example', version: '1.0', requires: ['anotherTr'] });
    expect(keg?.sites[0]).toMatchObject({
      name: 'isi',
      type: 'installed',
      osRelease: 'fc',
      osVersion: '4',
      container: 'centos-pegasus',
      profiles: { env: { Hello: 'World', JAVA_HOME: '/bin/java.1.6' }, condor: { FOO: 'bar' } },
    });
    const foo = l.transformations.transformations[2];
    expect(foo?.profiles).toEqual({ globus: { maxtime: '2' }, dagman: { retry: '2' } });
    expect(foo?.sites[0]).toMatchObject({ type: 'stageable', metadata: { size: '2048' } });
    // One container: the inline definition wins over tc.yml's of the same name.
    expect(l.transformations.containers).toHaveLength(1);
    expect(l.transformations.containers[0]).toMatchObject({
      name: 'centos-pegasus',
      type: 'docker',
      image: 'docker:///rynge/montage:latest',
      mounts: ['/Volumes/Work/lfs1:/shared-data/:ro'],
    });
  });

  it('pegasus-junit-parser-diamond: jobs without type, commented-out site catalog', async () => {
    const l = await read('pegasus-junit-parser-diamond/workflow.yml');
    expect(l.workflow.jobs).toHaveLength(4);
    expect(l.workflow.jobs.every((j) => j.type === 'job')).toBe(true);
    expect(l.warnings.some((w) => w.includes('siteCatalog') && /empty/.test(w))).toBe(true);
    expect(l.sites.sites).toEqual([]);
    expect(l.sources.sites).toBeUndefined();
    expect(l.replicas.replicas).toHaveLength(1);
    expect(l.transformations.transformations).toHaveLength(2);
    expect(job(l, 'ID000001').uses.find((u) => u.lfn === 'f.b1')?.size).toBe(2048);
    expect(edgeCount(l)).toBe(4);
  });

  it('pegasus-test052-blackdiamond: flow style, namespace/version, non-ASCII metadata', async () => {
    const l = await read('pegasus-test052-blackdiamond/workflow.yml');
    expect(l.workflow.name).toBe('blackdiamond');
    expect(l.workflow.pegasusVersion).toBe('5.0.4');
    expect(l.workflow.jobs).toHaveLength(4);
    const pre = job(l, 'ID0000001');
    expect(pre).toMatchObject({ namespace: 'pegasus', version: '4.0', name: 'preprocess' });
    expect(pre.arguments).toEqual(['-a', 'preprocess', '-T10', '-i', 'f.a', '-o', 'f.b1', 'f.b2']);
    expect(pre.uses.find((u) => u.lfn === 'f.a')?.metadata).toEqual({ 㐦: '㒦' });
    expect(pre.uses.find((u) => u.lfn === 'f.b2')).toMatchObject({
      stageOut: true,
      registerReplica: true,
    });
    expect(l.workflow.extensions).toEqual({});
    expect(l.warnings).toEqual([]);
  });

  it('pegasus-analyzer-hierarchical: sub-workflow job, forPlanning, stdout, catalogs/ folder', async () => {
    const l = await read('pegasus-analyzer-hierarchical/workflow.yml');
    expect(l.workflow.jobs).toHaveLength(3);
    const sub = job(l, 'diamond_subworkflow');
    expect(sub.type).toBe('pegasusWorkflow');
    expect(sub.file).toBe('inner_diamond_workflow.yml');
    expect(sub.name).toBe('pegasus-plan');
    expect(sub.uses.filter((u) => u.forPlanning).map((u) => u.lfn)).toEqual([
      'sites.yml',
      'inner_diamond_workflow.pegasus.properties',
      'inner_diamond_workflow_tc.yml',
    ]);
    expect(job(l, 'ID0000002').stdout).toBe('count.txt');
    expect(job(l, 'ID0000001').arguments).toContain('http://pegasus.isi.edu');
    expect(l.workflow.dependencies).toEqual([
      { id: 'ID0000001', children: ['diamond_subworkflow'] },
      { id: 'diamond_subworkflow', children: ['ID0000002'] },
    ]);
    expect(l.sources.replicas).toBe(
      path.join(P, 'pegasus-analyzer-hierarchical/catalogs/replicas.yml'),
    );
    expect(l.replicas.replicas).toHaveLength(4);
    expect(l.transformations.transformations.map((t) => t.name)).toEqual(['wc', 'curl']);
    expect(l.sites.sites.map((s) => s.name)).toEqual(['local', 'condorpool']);
    expect(l.sites.sites[0]?.directories[0]?.sharedFileSystem).toBe(false);
    expect(l.sites.sites[1]?.profiles['pegasus']).toEqual({
      style: 'condor',
      'data.configuration': 'condorio',
    });
  });

  it('hierarchical inner workflow: its own catalogs folder (sites) plus a named tc', async () => {
    const rel = `${HIER_INNER}/inner_diamond_workflow.yml`;
    const l = await read(rel);
    expect(l.workflow.jobs).toHaveLength(4);
    expect(l.sources.sites).toBe(path.join(P, HIER_INNER, 'catalogs', 'sites.yml'));
    expect(l.transformations.transformations.map((t) => t.sites[0]?.type)).toEqual([
      'stageable',
      'stageable',
      'stageable',
    ]);
    expect(job(l, 'ID0000001').uses.find((u) => u.lfn === 'pegasus.html')?.link).toBe('input');
  });

  it('pegasus-analyzer-process: one job with stdout, condor profile values as text', async () => {
    const l = await read('pegasus-analyzer-process/workflow.yml');
    expect(l.workflow.jobs).toHaveLength(1);
    const ls = job(l, 'ID0000001');
    expect(ls).toMatchObject({ name: 'ls', stdout: 'listing.txt', arguments: ['-l', '/'] });
    expect(l.workflow.dependencies).toEqual([]);
    expect(l.transformations.transformations).toHaveLength(1);
    expect(l.replicas.replicas).toEqual([]);
    const pool = l.sites.sites.find((s) => s.name === 'condorpool');
    expect(pool?.profiles['pegasus']?.['clusters.num']).toBe('2');
    expect(pool?.profiles['condor']?.['periodic_remove']).toBe(
      '(JobStatus == 5) && ((CurrentTime - EnteredCurrentStatus) > 10)',
    );
  });

  it('pegasus-analyzer-drug-combination: container with bypass, stageable executables', async () => {
    const l = await read('pegasus-analyzer-drug-combination/workflow.yml');
    expect(l.workflow.jobs).toHaveLength(1);
    expect(l.transformations.transformations).toHaveLength(7);
    expect(l.transformations.containers).toEqual([
      {
        name: 'docker_container',
        type: 'docker',
        image: 'docker:///zaiyancse/drug-combo-container:light',
        mounts: [],
        bypass: true,
        profiles: {},
        metadata: {},
      },
    ]);
    const loader = l.transformations.transformations.find((t) => t.name === 'chebi_drug_loader');
    expect(loader?.sites[0]).toMatchObject({
      type: 'stageable',
      container: 'docker_container',
      arch: 'x86_64',
      osType: 'linux',
    });
    const combine = l.transformations.transformations.find((t) => t.name === 'combine_features');
    expect(combine?.sites[0]?.container).toBeUndefined();
    expect(l.replicas.replicas).toHaveLength(4);
    expect(l.sites.sites[0]?.directories[0]?.sharedFileSystem).toBe(true);
  });

  it('prokevo: 28 jobs, regex replica, singularity container, ${VAR} in the site catalog', async () => {
    const l = await read('prokevo/workflow.yml');
    expect(l.workflow.name).toBe('pipeline');
    expect(l.workflow.jobs).toHaveLength(28);
    expect(edgeCount(l)).toBe(38);
    expect(l.replicas.replicas).toEqual([
      {
        lfn: '.*',
        regex: true,
        pfns: [{ site: 'local', pfn: 'http://poseidon-data/~poseidon/ProkEvo/data/[0]' }],
        metadata: {},
      },
    ]);
    expect(l.transformations.transformations).toHaveLength(19);
    expect(l.transformations.containers[0]).toMatchObject({
      name: 'prokevo',
      type: 'singularity',
      imageSite: 'local',
    });
    const spades = l.transformations.transformations.find((t) => t.name === 'ex_spades_run');
    expect(spades?.sites[0]?.profiles).toEqual({ pegasus: { cores: '4' } });
    expect(job(l, 'ID0000026').profiles).toEqual({ pegasus: { memory: '2048' } });
    expect(job(l, 'ID0000003').uses.find((u) => u.link === 'output')).toMatchObject({
      lfn: 'SRR5160663_spades_output/contigs.fasta',
      stageOut: true,
    });
    expect(job(l, 'ID0000001').uses.find((u) => u.link === 'output')?.stageOut).toBe(false);
    const local = l.sites.sites.find((s) => s.name === 'local');
    expect(local?.directories[0]).toMatchObject({
      path: '/work/run/scratch-local',
      fileServers: [{ url: 'file:///work/run/scratch-local', operation: 'all' }],
    });
    const pool = l.sites.sites.find((s) => s.name === 'condorpool');
    expect(pool?.profiles['pegasus']?.['SSH_PRIVATE_KEY']).toBe('/home/alice/.ssh/storage_rsa');
  });

  it('prokevo without HOME in the environment: a problem naming the variable, file and key', async () => {
    const err = await readWorkflow(path.join(P, 'prokevo/workflow.yml'), {
      env: { PWD: '/x' },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const problems = (err as { problems: { where: string; message: string }[] }).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]?.where).toBe(
      `${path.join(P, 'prokevo/sites.yml')}: sites[1].profiles.pegasus.SSH_PRIVATE_KEY (site condorpool)`,
    );
    expect(problems[0]?.message).toMatch(/'HOME' is not set/);
  });
});
