/**
 * Small builders for workflow-model literals, so planner tests read like the workflows
 * they describe. Everything returned is plain model data (services/model/types.ts).
 */
import type {
  Dependency,
  FileUse,
  Job,
  LoadedWorkflow,
  Profiles,
  Replica,
  ReplicaCatalog,
  Site,
  SiteCatalog,
  Transformation,
  TransformationCatalog,
  TransformationSite,
  Workflow,
} from '../../services/model/index.js';

export function input(lfn: string, o: Partial<FileUse> = {}): FileUse {
  return {
    lfn,
    link: 'input',
    stageOut: false,
    registerReplica: false,
    bypass: false,
    forPlanning: false,
    optional: false,
    metadata: {},
    ...o,
  };
}

export function output(lfn: string, o: Partial<FileUse> = {}): FileUse {
  return {
    lfn,
    link: 'output',
    stageOut: true,
    registerReplica: true,
    bypass: false,
    forPlanning: false,
    optional: false,
    metadata: {},
    ...o,
  };
}

export function job(id: string, name: string, uses: FileUse[] = [], o: Partial<Job> = {}): Job {
  return {
    id,
    type: 'job',
    name,
    arguments: [],
    uses,
    profiles: {},
    metadata: {},
    ...o,
  };
}

export function workflow(
  jobs: Job[],
  dependencies: Dependency[] = [],
  o: Partial<Workflow> = {},
): Workflow {
  return {
    name: 'test',
    pegasusVersion: '5.0.4',
    jobs,
    dependencies,
    profiles: {},
    metadata: {},
    extensions: {},
    ...o,
  };
}

export function tsite(name: string, o: Partial<TransformationSite> = {}): TransformationSite {
  return {
    name,
    pfn: `/usr/bin/${name}-tool`,
    type: 'installed',
    bypass: false,
    profiles: {},
    metadata: {},
    ...o,
  };
}

export function transformation(
  name: string,
  sites: TransformationSite[],
  o: Partial<Transformation> = {},
): Transformation {
  return { name, requires: [], sites, profiles: {}, metadata: {}, ...o };
}

/** Each name installed on each of `sites` (pfn /bin/<name>). */
export function installedEverywhere(names: string[], sites: string[]): TransformationCatalog {
  return {
    containers: [],
    transformations: names.map((n) =>
      transformation(
        n,
        sites.map((s) => tsite(s, { pfn: `/bin/${n}` })),
      ),
    ),
  };
}

export function replica(lfn: string, pfns: [string, string][], o: Partial<Replica> = {}): Replica {
  return {
    lfn,
    pfns: pfns.map(([pfn, site]) => ({ pfn, site })),
    regex: false,
    metadata: {},
    ...o,
  };
}

export function site(name: string, o: Partial<Site> = {}): Site {
  return { name, directories: [], profiles: {}, metadata: {}, ...o };
}

export function loaded(
  wf: Workflow,
  c: {
    replicas?: Replica[];
    transformations?: TransformationCatalog;
    sites?: Site[];
  } = {},
): LoadedWorkflow {
  const replicas: ReplicaCatalog = { replicas: c.replicas ?? [] };
  const sites: SiteCatalog = { sites: c.sites ?? [] };
  return {
    workflow: wf,
    replicas,
    transformations: c.transformations ?? { transformations: [], containers: [] },
    sites,
    warnings: [],
    sources: { workflow: 'workflow.yml' },
  };
}

/**
 * Pegasus' black diamond: preprocess(f.a -> f.b1 f.b2), findrange ×2 (f.b1 -> f.c1,
 * f.b2 -> f.c2), analyze(f.c1 f.c2 -> f.d); every output staged out and registered;
 * f.a in the replica catalog at site local; all transformations installed on condorpool.
 */
export function diamond(
  o: { profiles?: Record<string, Profiles>; sites?: string[]; stageOut?: boolean } = {},
): LoadedWorkflow {
  const so = { stageOut: o.stageOut ?? true, registerReplica: o.stageOut ?? true };
  const p = (id: string): Partial<Job> => ({ profiles: o.profiles?.[id] ?? {} });
  const wf = workflow(
    [
      job('ID1', 'preprocess', [input('f.a'), output('f.b1', so), output('f.b2', so)], p('ID1')),
      job('ID2', 'findrange', [input('f.b1'), output('f.c1', so)], p('ID2')),
      job('ID3', 'findrange', [input('f.b2'), output('f.c2', so)], p('ID3')),
      job('ID4', 'analyze', [input('f.c1'), input('f.c2'), output('f.d', so)], p('ID4')),
    ],
    [
      { id: 'ID1', children: ['ID2', 'ID3'] },
      { id: 'ID2', children: ['ID4'] },
      { id: 'ID3', children: ['ID4'] },
    ],
    { name: 'diamond' },
  );
  return loaded(wf, {
    replicas: [replica('f.a', [['/data/f.a', 'local']])],
    transformations: installedEverywhere(
      ['preprocess', 'findrange', 'analyze'],
      o.sites ?? ['condorpool'],
    ),
  });
}

/**
 * A layered workflow of `n` jobs in layers of `width`: job i of layer L reads the outputs
 * of jobs i and i+1 (mod width) of layer L-1; layer 0 reads one replica each. Only the
 * last layer's outputs are staged out (as big Pegasus workflows usually do).
 */
export function layered(n: number, width: number): LoadedWorkflow {
  const jobs: Job[] = [];
  const replicas: Replica[] = [];
  for (let k = 0; k < n; k++) {
    const layer = Math.floor(k / width);
    const i = k % width;
    const last = Math.floor((n - 1) / width) === layer;
    const uses: FileUse[] = [];
    if (layer === 0) {
      uses.push(input(`in_${i}`));
      replicas.push(replica(`in_${i}`, [[`/data/in_${i}`, 'local']]));
    } else {
      const prev = (layer - 1) * width;
      uses.push(input(`f_${prev + i}`));
      const j = prev + ((i + 1) % width);
      if (j !== prev + i) uses.push(input(`f_${j}`));
    }
    uses.push(output(`f_${k}`, { stageOut: last, registerReplica: last }));
    jobs.push(job(`J${k}`, layer % 2 === 0 ? 'even' : 'odd', uses));
  }
  return loaded(workflow(jobs, [], { name: 'layered' }), {
    replicas,
    transformations: installedEverywhere(['even', 'odd'], ['compute']),
  });
}
