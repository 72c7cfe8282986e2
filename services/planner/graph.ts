/**
 * The abstract workflow as integer-indexed arrays (DESIGN §5: 1M jobs must fit): jobs and
 * logical files are numbered, each job's inputs and outputs are CSR rows, and the edges
 * (explicit jobDependencies ∪ edges inferred from files: a job that outputs an lfn is a
 * parent of every job that inputs it) are deduplicated CSR adjacency in both directions.
 *
 * Building the graph also finds the structural problems of validate(): duplicate ids,
 * dangling dependencies, an lfn produced twice, an lfn both read and written by one job,
 * and cycles (each printed as `cycle: A -> B -> A`).
 */
import type { Dependency, Job, Workflow } from '../model/index.js';
import { buildCsr, dedupeCsr, IntList, transposeCsr, type Csr } from './int-list.js';
import { listSome, type ProblemList } from './problems.js';

/** Input use flags. */
export const IN_BYPASS = 1;
export const IN_FOR_PLANNING = 2;
/** Output use flags. */
export const OUT_STAGE = 1;
export const OUT_REGISTER = 2;
export const OUT_OPTIONAL = 4;

export interface Graph {
  /** Jobs kept in the graph (a duplicate id keeps its first job only). */
  jobs: Job[];
  index: Map<string, number>;
  fileNames: string[];
  fileIndex: Map<string, number>;
  /** Size in bytes per file, NaN when no use declares it. */
  fileSize: Float64Array;
  inputs: Csr;
  inputFlags: Uint8Array;
  outputs: Csr;
  outputFlags: Uint8Array;
  /** Producing job per file, -1 when none. */
  producer: Int32Array;
  /** Consumers per file (jobs that input it, forPlanning uses included). */
  consumers: Csr;
  children: Csr;
  parents: Csr;
  edges: number;
  /** Topological order (Kahn, FIFO, index order among ready jobs); shorter than n on a cycle. */
  order: Int32Array;
  acyclic: boolean;
}

const MAX_CYCLES_REPORTED = 5;
const MAX_CYCLE_PRINTED = 20;

export function jobWhere(source: string, id: string): string {
  return `${source}: job ${id}`;
}

/**
 * Build the graph; structural problems go to `problems`, the graph is still returned.
 * Each step is its own function with one loop: at 1M jobs every loop runs long enough to be
 * compiled on its own, and leaving one does not throw away the compiled code of the next.
 */
export function buildGraph(workflow: Workflow, source: string, problems: ProblemList): Graph {
  const { jobs, index } = indexJobs(workflow.jobs, source, problems);
  const n = jobs.length;
  const files = fileRows(jobs, source, problems);
  const { fileNames, inputs, outputs } = files;
  const producer = findProducers(jobs, outputs, fileNames, source, problems);
  const consumers = transposeCsr(inputs, fileNames.length);

  // Edges: explicit ∪ inferred.
  const src = new IntList(inputs.items.length + 1024);
  const dst = new IntList(inputs.items.length + 1024);
  explicitEdges(workflow.dependencies, index, source, problems, src, dst);
  for (let c = 0; c < n; c++) {
    for (let i = inputs.start[c]!; i < inputs.start[c + 1]!; i++) {
      const p = producer[inputs.items[i]!]!;
      if (p >= 0 && p !== c) {
        src.push(p);
        dst.push(c);
      }
    }
  }
  const children = dedupeCsr(buildCsr(n, src.view(), dst.view()), n);
  const parents = transposeCsr(children, n);
  const { order, acyclic } = topologicalOrder(n, children, parents);
  if (!acyclic) reportCycles(jobs, children, order, source, problems);

  return {
    jobs,
    index,
    ...files,
    producer,
    consumers,
    children,
    parents,
    edges: children.items.length,
    order,
    acyclic,
  };
}

/** Number the jobs by id; a repeated id keeps its first job only (and is a problem). */
function indexJobs(
  all: readonly Job[],
  source: string,
  problems: ProblemList,
): { jobs: Job[]; index: Map<string, number> } {
  const index = new Map<string, number>();
  const jobs: Job[] = [];
  for (let i = 0; i < all.length; i++) {
    const job = all[i]!;
    const first = index.get(job.id);
    if (first !== undefined) {
      problems.add('duplicate job id', {
        where: jobWhere(source, job.id),
        message: `job id ${job.id} is used by more than one job`,
        hint: 'give every job a unique id',
      });
      continue;
    }
    index.set(job.id, jobs.length);
    jobs.push(job);
  }
  return { jobs, index };
}

type FileRows = Pick<
  Graph,
  'fileNames' | 'fileIndex' | 'fileSize' | 'inputs' | 'inputFlags' | 'outputs' | 'outputFlags'
>;

/**
 * Number the files and fill each job's input and output rows (use order, repeats within a
 * job dropped). Jobs are visited in index order, so the rows come out in CSR order directly
 * (no counting sort afterwards).
 */
function fileRows(jobs: readonly Job[], source: string, problems: ProblemList): FileRows {
  const n = jobs.length;
  // Per file: size (NaN: not declared) and the stamps of per-job de-duplication (job index
  // + 1 when seen in this job). They grow with the files numbered so far rather than being
  // sized for the worst case (one file per use): at 1M jobs that bound is ~10M entries, and
  // large short-lived buffers make V8 collect the whole (multi-GB) heap early.
  let sizes = new Float64Array(n + 1024).fill(NaN);
  let stampIn = new Int32Array(sizes.length);
  let stampOut = new Int32Array(sizes.length);
  const fileIndex = new Map<string, number>();
  const fileNames: string[] = [];
  const intern = (lfn: string): number => {
    let f = fileIndex.get(lfn);
    if (f === undefined) {
      f = fileNames.length;
      fileIndex.set(lfn, f);
      fileNames.push(lfn);
      if (f === sizes.length) {
        const grown = new Float64Array(2 * f).fill(NaN);
        grown.set(sizes);
        sizes = grown;
        stampIn = grownInts(stampIn, 2 * f);
        stampOut = grownInts(stampOut, 2 * f);
      }
    }
    return f;
  };
  const noteSize = (f: number, size: number): void => {
    if (Number.isFinite(size) && Number.isNaN(sizes[f]!)) sizes[f] = size;
  };
  // Rows sized once from the number of uses (+ stdin/stdout/stderr): no regrowth.
  let totalUses = 0;
  for (let j = 0; j < n; j++) totalUses += jobs[j]!.uses.length + 3;
  const inStart = new Int32Array(n + 1);
  const inFile = new Int32Array(totalUses);
  const inFlags = new Uint8Array(totalUses);
  let nIn = 0;
  const outStart = new Int32Array(n + 1);
  const outFile = new Int32Array(totalUses);
  const outFlags = new Uint8Array(totalUses);
  let nOut = 0;

  for (let j = 0; j < n; j++) {
    const job = jobs[j]!;
    const stamp = j + 1;
    const uses = job.uses;
    // outputs first, so an lfn used both ways is noticed whichever order uses are written
    outStart[j] = nOut;
    for (let u = 0; u <= uses.length + 1; u++) {
      let lfn: string | undefined;
      let flags = OUT_STAGE | OUT_REGISTER; // stdout/stderr: staged and registered
      let size: number | undefined;
      if (u < uses.length) {
        const use = uses[u]!;
        if (use.link === 'input') continue;
        lfn = use.lfn;
        flags =
          (use.stageOut ? OUT_STAGE : 0) |
          (use.registerReplica ? OUT_REGISTER : 0) |
          (use.optional ? OUT_OPTIONAL : 0);
        size = use.size;
      } else {
        lfn = u === uses.length ? job.stdout : job.stderr;
        if (lfn === undefined) continue;
      }
      const f = intern(lfn);
      if (size !== undefined) noteSize(f, size);
      if (stampOut[f] === stamp) continue;
      stampOut[f] = stamp;
      outFile[nOut] = f;
      outFlags[nOut++] = flags;
    }
    inStart[j] = nIn;
    for (let u = 0; u <= uses.length; u++) {
      let lfn: string | undefined;
      let flags = 0;
      let size: number | undefined;
      if (u < uses.length) {
        const use = uses[u]!;
        if (use.link !== 'input') continue;
        lfn = use.lfn;
        flags = (use.bypass ? IN_BYPASS : 0) | (use.forPlanning ? IN_FOR_PLANNING : 0);
        size = use.size;
      } else {
        lfn = job.stdin;
        if (lfn === undefined) continue;
      }
      const f = intern(lfn);
      if (size !== undefined) noteSize(f, size);
      if (stampOut[f] === stamp) {
        if (stampIn[f] !== stamp) {
          problems.add('input and output', {
            where: jobWhere(source, job.id),
            message: `job ${job.id} uses ${lfn} as both an input and an output`,
            hint: 'write the result to a new lfn (a job cannot read and overwrite one file)',
          });
        }
        stampIn[f] = stamp;
        continue;
      }
      if (stampIn[f] === stamp) continue;
      stampIn[f] = stamp;
      inFile[nIn] = f;
      inFlags[nIn++] = flags;
    }
  }
  outStart[n] = nOut;
  inStart[n] = nIn;
  // Rows copied to their exact length.
  return {
    fileNames,
    fileIndex,
    fileSize: sizes.slice(0, fileNames.length),
    inputs: { start: inStart, items: inFile.slice(0, nIn) },
    inputFlags: inFlags.slice(0, nIn),
    outputs: { start: outStart, items: outFile.slice(0, nOut) },
    outputFlags: outFlags.slice(0, nOut),
  };
}

function grownInts(a: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(length);
  grown.set(a);
  return grown;
}

/** The producing job of each file (-1: none); an lfn produced twice is a problem. */
function findProducers(
  jobs: readonly Job[],
  outputs: Csr,
  fileNames: readonly string[],
  source: string,
  problems: ProblemList,
): Int32Array {
  const producer = new Int32Array(fileNames.length).fill(-1);
  const reported = new Set<number>();
  for (let j = 0; j < jobs.length; j++) {
    for (let i = outputs.start[j]!; i < outputs.start[j + 1]!; i++) {
      const f = outputs.items[i]!;
      const p = producer[f]!;
      if (p === -1) {
        producer[f] = j;
      } else if (!reported.has(f)) {
        reported.add(f);
        problems.add('produced twice', {
          where: jobWhere(source, jobs[j]!.id),
          message: `${fileNames[f]} is an output of both ${jobs[p]!.id} and ${jobs[j]!.id}`,
          hint: 'each lfn must be produced by exactly one job; rename one of the outputs',
        });
      }
    }
  }
  return producer;
}

/** The `jobDependencies` edges as (src, dst) pairs; unknown ids are problems. */
function explicitEdges(
  deps: readonly Dependency[],
  index: ReadonlyMap<string, number>,
  source: string,
  problems: ProblemList,
  src: IntList,
  dst: IntList,
): void {
  const dangling = new Map<string, string[]>();
  const noteDangling = (unknown: string, role: string): void => {
    const list = dangling.get(unknown);
    if (list) list.push(role);
    else dangling.set(unknown, [role]);
  };
  for (let d = 0; d < deps.length; d++) {
    const dep = deps[d]!;
    const p = index.get(dep.id);
    if (p === undefined) {
      noteDangling(dep.id, `parent of ${listSome(dep.children, 3)}`);
      continue;
    }
    const kids = dep.children;
    for (let k = 0; k < kids.length; k++) {
      const child = kids[k]!;
      const c = index.get(child);
      if (c === undefined) {
        noteDangling(child, `child of ${dep.id}`);
        continue;
      }
      src.push(p);
      dst.push(c);
    }
  }
  for (const [unknown, roles] of dangling) {
    problems.add('dangling dependency', {
      where: `${source}: jobDependencies`,
      message: `jobDependencies name unknown job ${unknown} (${listSome(roles, 3)})`,
      hint: `add a job with id ${unknown} or remove it from jobDependencies`,
    });
  }
}

/** Kahn's algorithm; ready jobs are taken first-in first-out, roots in index order. */
export function topologicalOrder(
  n: number,
  children: Csr,
  parents: Csr,
): { order: Int32Array; acyclic: boolean } {
  const indeg = new Int32Array(n);
  for (let v = 0; v < n; v++) indeg[v] = parents.start[v + 1]! - parents.start[v]!;
  const order = new Int32Array(n);
  let tail = 0;
  for (let v = 0; v < n; v++) if (indeg[v] === 0) order[tail++] = v;
  for (let head = 0; head < tail; head++) {
    const u = order[head]!;
    for (let i = children.start[u]!; i < children.start[u + 1]!; i++) {
      const c = children.items[i]!;
      if (--indeg[c]! === 0) order[tail++] = c;
    }
  }
  return { order: tail === n ? order : order.slice(0, tail), acyclic: tail === n };
}

/**
 * Print the cycles left after Kahn's algorithm: an iterative DFS over the jobs that never
 * became ready; each back edge closes one cycle. Each distinct cycle is reported once (as
 * rotated to start at its first job in file order), at most MAX_CYCLES_REPORTED of them.
 */
function reportCycles(
  jobs: Job[],
  children: Csr,
  order: Int32Array,
  source: string,
  problems: ProblemList,
): void {
  const n = jobs.length;
  const done = new Uint8Array(n);
  for (let i = 0; i < order.length; i++) done[order[i]!] = 1;
  const cycles = findCycles(n, children, (v) => done[v] === 0, MAX_CYCLES_REPORTED);
  let onCycles = 0;
  for (let v = 0; v < n; v++) if (done[v] === 0) onCycles++;
  for (const cycle of cycles) {
    const ids = cycle.map((v) => jobs[v]!.id);
    problems.add('cycle', {
      where: jobWhere(source, ids[0]!),
      message: `cycle: ${printCycle(ids)}`,
      hint: 'remove one of these dependencies (a job that outputs an lfn is a parent of every job that inputs it)',
    });
  }
  if (cycles.length === 0) {
    problems.add('cycle', {
      where: source,
      message: `${onCycles} jobs are on or behind a dependency cycle`,
    });
  }
}

/** `A -> B -> C -> A`, long cycles shortened in the middle. */
export function printCycle(ids: readonly string[]): string {
  const shown =
    ids.length <= MAX_CYCLE_PRINTED
      ? ids
      : [
          ...ids.slice(0, MAX_CYCLE_PRINTED - 3),
          `... (${ids.length - MAX_CYCLE_PRINTED + 1} more)`,
          ...ids.slice(ids.length - 2),
        ];
  return [...shown, ids[0]!].join(' -> ');
}

/**
 * Distinct cycles among nodes for which `inScope` holds, as node lists rotated to start
 * at their smallest index; at most `max`. Shared with the cluster cycle check.
 */
export function findCycles(
  n: number,
  children: Csr,
  inScope: (v: number) => boolean,
  max: number,
): number[][] {
  const color = new Uint8Array(n); // 0 new, 1 on the DFS path, 2 finished
  const pathNode = new Int32Array(n);
  const pathCursor = new Int32Array(n);
  const posOnPath = new Int32Array(n).fill(-1);
  const seen = new Set<string>();
  const out: number[][] = [];
  for (let root = 0; root < n && out.length < max; root++) {
    if (color[root] !== 0 || !inScope(root)) continue;
    let depth = 0;
    pathNode[0] = root;
    pathCursor[0] = children.start[root]!;
    color[root] = 1;
    posOnPath[root] = 0;
    while (depth >= 0 && out.length < max) {
      const u = pathNode[depth]!;
      const cursor = pathCursor[depth]!;
      if (cursor < children.start[u + 1]!) {
        pathCursor[depth] = cursor + 1;
        const v = children.items[cursor]!;
        if (!inScope(v)) continue;
        if (color[v] === 1) {
          const cycle = Array.from(pathNode.subarray(posOnPath[v]!, depth + 1));
          let minAt = 0;
          for (let i = 1; i < cycle.length; i++) if (cycle[i]! < cycle[minAt]!) minAt = i;
          const rotated = [...cycle.slice(minAt), ...cycle.slice(0, minAt)];
          const key = rotated.join(',');
          if (!seen.has(key)) {
            seen.add(key);
            out.push(rotated);
          }
        } else if (color[v] === 0) {
          depth++;
          pathNode[depth] = v;
          pathCursor[depth] = children.start[v]!;
          color[v] = 1;
          posOnPath[v] = depth;
        }
      } else {
        color[u] = 2;
        posOnPath[u] = -1;
        depth--;
      }
    }
  }
  return out;
}
