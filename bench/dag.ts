/**
 * bench/dag — the layered DAG every dispatch benchmark runs, written in each contender's
 * own format so that all of them run exactly the same graph of `/bin/true` jobs.
 *
 * Shape: `jobs` jobs split over `layers` layers as evenly as possible (the first layers take
 * the remainder); job `i` of layer `l > 0` depends on two jobs of layer `l - 1` (indices
 * `i mod P` and `(i + ⌊P/2⌋ + 1) mod P` for a previous layer of P jobs; one when P = 1).
 * Deterministic: the same (jobs, layers) always gives the same graph, ids `j<layer>_<i>`.
 * Jobs use no files, so the aloft plan has no staging, and with `--cleanup none` no cleanup
 * jobs either: plan jobs = DAG jobs.
 *
 * Emitted forms (`writeDagFiles`):
 *   workflow.yml          Pegasus 5 workflow (jobs + jobDependencies), transformation `true`
 *   transformations.yml   transformation catalog: `true` at site local = /bin/true, installed
 *   Makefile              phony targets with the same prerequisites, recipe `/bin/true`
 *                         (no shell metacharacters, so GNU make execs it without a shell)
 *   Snakefile             one rule per job (touch() flag files under snake/), shell /bin/true
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface DagShape {
  jobs: number;
  layers: number;
}

export interface Dag {
  /** Job ids by layer. */
  layers: string[][];
  /** Parents of each job (empty for the first layer). */
  parents: Map<string, string[]>;
}

export interface DagFiles {
  dir: string;
  workflow: string;
  transformations: string;
  makefile: string;
  snakefile: string;
}

export const TRUE_PATH = '/bin/true';
/** The site the transformation catalog installs `true` at: where an agent must serve. */
export const DAG_SITE = 'local';

/** The layered DAG of `shape` (throws on a shape that cannot be built). */
export function layeredDag(shape: DagShape): Dag {
  const { jobs, layers } = shape;
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be >= 1, got ${jobs}`);
  if (!Number.isInteger(layers) || layers < 1 || layers > jobs) {
    throw new RangeError(`layers must be between 1 and jobs (${jobs}), got ${layers}`);
  }
  const base = Math.floor(jobs / layers);
  const extra = jobs % layers;
  const out: string[][] = [];
  const parents = new Map<string, string[]>();
  for (let l = 0; l < layers; l++) {
    const size = base + (l < extra ? 1 : 0);
    const ids = Array.from({ length: size }, (_, i) => `j${l}_${i}`);
    const prev = out[l - 1];
    for (let i = 0; i < size; i++) {
      const id = ids[i]!;
      if (!prev) {
        parents.set(id, []);
        continue;
      }
      const p = prev.length;
      const a = i % p;
      const b = (i + Math.floor(p / 2) + 1) % p;
      parents.set(id, a === b ? [prev[a]!] : [prev[a]!, prev[b]!]);
    }
    out.push(ids);
  }
  return { layers: out, parents };
}

/** Children of each job (the inverse of `parents`), for jobDependencies. */
function childrenOf(dag: Dag): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const [child, ps] of dag.parents) {
    for (const p of ps) {
      let list = children.get(p);
      if (!list) children.set(p, (list = []));
      list.push(child);
    }
  }
  return children;
}

export function pegasusWorkflowYaml(dag: Dag, name: string): string {
  const lines = ['pegasus: "5.0.4"', `name: ${name}`, 'jobs:'];
  for (const layer of dag.layers) {
    for (const id of layer) {
      lines.push(`  - { type: job, name: "true", id: ${id}, arguments: [] }`);
    }
  }
  const children = childrenOf(dag);
  if (children.size > 0) lines.push('jobDependencies:');
  for (const layer of dag.layers) {
    for (const id of layer) {
      const c = children.get(id);
      if (c) lines.push(`  - { id: ${id}, children: [${c.join(', ')}] }`);
    }
  }
  return lines.join('\n') + '\n';
}

export function transformationCatalogYaml(): string {
  return [
    'pegasus: "5.0.4"',
    'transformations:',
    '  - name: "true"',
    '    sites:',
    `      - name: ${DAG_SITE}`,
    `        pfn: ${TRUE_PATH}`,
    '        type: installed',
    '',
  ].join('\n');
}

export function makefileText(dag: Dag): string {
  const all = dag.layers.flat();
  const lines = ['.PHONY: all ' + all.join(' '), '', 'all: ' + all.join(' '), ''];
  for (const id of all) {
    lines.push(`${id}: ${(dag.parents.get(id) ?? []).join(' ')}`.trimEnd());
    lines.push(`\t@${TRUE_PATH}`);
  }
  return lines.join('\n') + '\n';
}

export function snakefileText(dag: Dag): string {
  const all = dag.layers.flat();
  const flag = (id: string): string => `"snake/${id}"`;
  const lines = ['rule all:', `    input: [${all.map(flag).join(', ')}]`, ''];
  for (const id of all) {
    lines.push(`rule ${id}:`);
    const ps = dag.parents.get(id) ?? [];
    if (ps.length > 0) lines.push(`    input: ${ps.map(flag).join(', ')}`);
    lines.push(`    output: touch(${flag(id)})`);
    lines.push(`    shell: "${TRUE_PATH}"`, '');
  }
  return lines.join('\n');
}

/** Write every form of the DAG into `dir` (created). */
export async function writeDagFiles(
  dir: string,
  dag: Dag,
  name: string,
  signal?: AbortSignal,
): Promise<DagFiles> {
  await mkdir(dir, { recursive: true });
  const files: DagFiles = {
    dir,
    workflow: path.join(dir, 'workflow.yml'),
    transformations: path.join(dir, 'transformations.yml'),
    makefile: path.join(dir, 'Makefile'),
    snakefile: path.join(dir, 'Snakefile'),
  };
  const opts = signal ? { signal } : {};
  await writeFile(files.workflow, pegasusWorkflowYaml(dag, name), opts);
  await writeFile(files.transformations, transformationCatalogYaml(), opts);
  await writeFile(files.makefile, makefileText(dag), opts);
  await writeFile(files.snakefile, snakefileText(dag), opts);
  return files;
}
