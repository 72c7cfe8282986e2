/**
 * validate(): every structural problem of a loaded workflow at once (DESIGN §5): bad names,
 * duplicate ids, dangling dependencies, cycles, unknown transformations, inputs that nobody
 * produces and no replica provides, lfns produced twice, an lfn both read and written by one
 * job. Each Problem names the workflow file and the job. Pure: no I/O.
 */
import type { Problem } from '../../lib/errors/index.js';
import {
  isJobId,
  nameHint,
  validateLfn,
  validateName,
  type LoadedWorkflow,
} from '../model/index.js';
import { buildGraph, IN_FOR_PLANNING, jobWhere, type Graph } from './graph.js';
import { listSome, ProblemList } from './problems.js';
import { ReplicaIndex } from './replicas.js';
import { displayName, TransformationIndex } from './transformations.js';

export interface WorkflowCheck {
  problems: Problem[];
  /** Abstract jobs, distinct edges (explicit ∪ inferred) and distinct lfns. */
  jobs: number;
  edges: number;
  files: number;
}

/** Everything validation learnt, for plan() to reuse instead of building it twice. */
export interface Analysis {
  problems: ProblemList;
  graph: Graph;
  transformations: TransformationIndex;
  replicas: ReplicaIndex;
  /** Matched transformation per job (index into the catalog), -1 for sub-workflows. */
  transformationOf: Int32Array;
}

export function analyze(loaded: LoadedWorkflow): Analysis {
  const source = loaded.sources.workflow;
  const problems = new ProblemList();
  const graph = buildGraph(loaded.workflow, source, problems);
  const { jobs, fileNames, producer, consumers } = graph;

  for (let j = 0; j < jobs.length; j++) {
    const job = jobs[j]!;
    if (isJobId(job.id)) continue; // the one-pass check; the full one words the message
    const bad = validateName('job id', job.id);
    if (bad) {
      problems.add('bad job id', {
        where: jobWhere(source, job.id),
        message: bad,
        hint: nameHint('job id'),
      });
    }
  }
  for (let f = 0; f < fileNames.length; f++) {
    const lfn = fileNames[f]!;
    if (validateLfn(lfn) === undefined) continue; // one pass over the name, no allocation
    const bad = validateName('lfn', lfn);
    if (!bad) continue;
    const user = producer[f]! >= 0 ? producer[f]! : consumers.items[consumers.start[f]!];
    problems.add('bad lfn', {
      where: user === undefined ? source : jobWhere(source, jobs[user]!.id),
      message: bad,
      hint: nameHint('lfn'),
    });
  }

  const transformations = new TransformationIndex(loaded.transformations);
  const transformationOf = new Int32Array(jobs.length).fill(-1);
  for (let j = 0; j < jobs.length; j++) {
    const job = jobs[j]!;
    if (job.type !== 'job') continue; // sub-workflows are planned by aloft itself
    const t = transformations.find(job);
    transformationOf[j] = t;
    if (t >= 0) continue;
    const { message, hint } = transformations.explainMiss(job);
    problems.add(`unknown transformation ${displayName(job)}`, {
      where: jobWhere(source, job.id),
      message,
      hint,
    });
  }

  const replicas = new ReplicaIndex(loaded.replicas, loaded.sources.replicas ?? source, problems);
  const { inputs, inputFlags } = graph;
  for (let f = 0; f < fileNames.length; f++) {
    if (producer[f]! >= 0) continue;
    // The list of jobs needing the file is built only for a message (a shared input can
    // have a consumer in every job).
    let needed = false;
    for (let i = consumers.start[f]!; i < consumers.start[f + 1]! && !needed; i++) {
      needed = !planningOnly(inputs, inputFlags, consumers.items[i]!, f);
    }
    if (!needed) continue;
    const lfn = fileNames[f]!;
    if (replicas.has(lfn)) continue;
    const needers: string[] = [];
    for (let i = consumers.start[f]!; i < consumers.start[f + 1]!; i++) {
      const c = consumers.items[i]!;
      if (!planningOnly(inputs, inputFlags, c, f)) needers.push(jobs[c]!.id);
    }
    problems.add('missing input', {
      where: jobWhere(source, needers[0]!),
      message: `input ${lfn} is produced by no job and has no replica (needed by ${listSome(needers)})`,
      hint: `add ${lfn} to the replica catalog (--replicas FILE) or add the job that produces it`,
    });
  }
  return { problems, graph, transformations, replicas, transformationOf };
}

/** Is every use of lfn `f` by job `c` a forPlanning one? */
function planningOnly(inputs: Graph['inputs'], flags: Uint8Array, c: number, f: number): boolean {
  for (let i = inputs.start[c]!; i < inputs.start[c + 1]!; i++) {
    if (inputs.items[i] === f) return (flags[i]! & IN_FOR_PLANNING) !== 0;
  }
  return false;
}

/** All structural problems of the workflow, with counts for a one-line summary. */
export function checkWorkflow(loaded: LoadedWorkflow): WorkflowCheck {
  const a = analyze(loaded);
  return {
    problems: a.problems.list(),
    jobs: loaded.workflow.jobs.length,
    edges: a.graph.edges,
    files: a.graph.fileNames.length,
  };
}

/** All structural problems of the workflow (empty when it can be planned structurally). */
export function validate(loaded: LoadedWorkflow): Problem[] {
  return checkWorkflow(loaded).problems;
}
