/**
 * The workflow (Pegasus' Python API `Workflow`): jobs, dependencies, inline catalogs.
 *
 * Contract:
 * - jobs without an id get `ID0000001`, `ID0000002`, ... (the next free one) when added;
 *   a duplicate id is an error at `addJobs`;
 * - dependencies are explicit (`addDependency`) plus, unless `inferDependencies: false`,
 *   inferred from files (the producer of an lfn is a parent of each job that reads it), and
 *   written as `jobDependencies` in job order;
 * - `toDocument()` is the Pegasus 5 YAML document (`pegasus: "5.0.4"`), `write()` writes it,
 *   and `toModel()` is exactly what reading that file back gives (it runs the same reader on
 *   the same document, with `${VAR}` expansion from process.env like `readWorkflow`).
 */
import { AloftError } from '../../lib/errors/index.js';
import type { LoadedWorkflow, Workflow as WorkflowModel } from '../model/types.js';
import { assertSafeName } from '../model/names.js';
import {
  mergeReplicaCatalogs,
  mergeSiteCatalogs,
  mergeTransformationCatalogs,
  workflowFromDocument,
} from '../formats/index.js';
import { Annotated, compact, metadataDoc, profilesDoc } from './annotated.js';
import type { AbstractJob } from './job.js';
import type { ReplicaCatalog } from './replica-catalog.js';
import type { SiteCatalog } from './site-catalog.js';
import type { TransformationCatalog } from './transformation-catalog.js';
import { PEGASUS_VERSION } from './version.js';
import { toYaml, writeYamlDocument } from './write-document.js';

export interface WorkflowOptions {
  /** Add edges from files (producer → consumer) when writing; default true. */
  inferDependencies?: boolean;
}

type JobRef = AbstractJob | string;

export class Workflow extends Annotated {
  readonly name: string;
  readonly jobs: AbstractJob[] = [];
  private readonly ids = new Map<string, AbstractJob>();
  private readonly added = new Set<AbstractJob>();
  private readonly explicit: { parent: JobRef; child: JobRef }[] = [];
  private sequence = 0;
  private readonly inferDependencies: boolean;
  private replicaCatalog: ReplicaCatalog | undefined;
  private transformationCatalog: TransformationCatalog | undefined;
  private siteCatalog: SiteCatalog | undefined;

  constructor(name: string, opts: WorkflowOptions = {}) {
    super();
    this.name = assertSafeName(name, 'workflow name', `Workflow(${JSON.stringify(name)})`);
    this.inferDependencies = opts.inferDependencies ?? true;
  }

  protected describe(): string {
    return `Workflow(${this.name})`;
  }

  private nextId(): string {
    let id: string;
    do {
      this.sequence += 1;
      id = `ID${String(this.sequence).padStart(7, '0')}`;
    } while (this.ids.has(id));
    return id;
  }

  addJobs(...jobs: AbstractJob[]): this {
    for (const job of jobs) {
      if (this.added.has(job)) continue;
      if (job.id === undefined) job.id = this.nextId();
      else if (this.ids.has(job.id))
        throw AloftError.invalid({
          where: `${this.describe()}.addJobs`,
          message: `duplicate job id '${job.id}'`,
          hint: 'give every job its own id, or leave ids out to have them assigned',
        });
      this.ids.set(job.id, job);
      this.added.add(job);
      this.jobs.push(job);
    }
    return this;
  }

  /**
   * Explicit edges: `addDependency(job, { children: [a, b] })` and/or `{ parents: [...] }`.
   * Jobs may be added to the workflow before or after; all must be in it when writing.
   */
  addDependency(job: JobRef, rel: { parents?: JobRef[]; children?: JobRef[] }): this {
    for (const p of rel.parents ?? []) this.explicit.push({ parent: p, child: job });
    for (const c of rel.children ?? []) this.explicit.push({ parent: job, child: c });
    return this;
  }

  addReplicaCatalog(rc: ReplicaCatalog): this {
    this.replicaCatalog = rc;
    return this;
  }

  addTransformationCatalog(tc: TransformationCatalog): this {
    this.transformationCatalog = tc;
    return this;
  }

  addSiteCatalog(sc: SiteCatalog): this {
    this.siteCatalog = sc;
    return this;
  }

  private indexOf(ref: JobRef, jobIndex: Map<AbstractJob, number>): number {
    const job = typeof ref === 'string' ? this.ids.get(ref) : ref;
    const i = job === undefined ? undefined : jobIndex.get(job);
    if (i === undefined) {
      const name = typeof ref === 'string' ? ref : (ref.id ?? 'a job');
      throw AloftError.invalid({
        where: `${this.describe()}.addDependency`,
        message: `job '${name}' is not in the workflow`,
        hint: 'add it with addJobs before writing',
      });
    }
    return i;
  }

  /** `jobDependencies`: explicit ∪ inferred edges, parents and children in job order. */
  private dependencies(): { id: string; children: string[] }[] {
    const jobIndex = new Map<AbstractJob, number>(this.jobs.map((j, i) => [j, i]));
    // children[i]: the children of job i (created on first use: most jobs in a large
    // workflow have one or two, many have none).
    const children: (Set<number> | undefined)[] = new Array(this.jobs.length);
    const link = (p: number, c: number) => (children[p] ??= new Set<number>()).add(c);
    for (const { parent, child } of this.explicit) {
      const p = this.indexOf(parent, jobIndex);
      const c = this.indexOf(child, jobIndex);
      if (p === c)
        throw AloftError.invalid({
          where: `${this.describe()}.addDependency`,
          message: `job '${this.jobs[p]?.id}' cannot depend on itself`,
        });
      link(p, c);
    }
    if (this.inferDependencies) {
      const producers = new Map<string, number | number[]>();
      for (let i = 0; i < this.jobs.length; i++) {
        for (const lfn of (this.jobs[i] as AbstractJob).outputs()) {
          const seen = producers.get(lfn);
          if (seen === undefined) producers.set(lfn, i);
          else if (typeof seen === 'number') producers.set(lfn, [seen, i]);
          else seen.push(i);
        }
      }
      for (let i = 0; i < this.jobs.length; i++) {
        for (const lfn of (this.jobs[i] as AbstractJob).inputs()) {
          const p = producers.get(lfn);
          if (p === undefined) continue;
          if (typeof p === 'number') {
            if (p !== i) link(p, i);
          } else for (const q of p) if (q !== i) link(q, i);
        }
      }
    }
    const out: { id: string; children: string[] }[] = [];
    for (let i = 0; i < children.length; i++) {
      const set = children[i];
      if (set === undefined) continue;
      const ordered = set.size === 1 ? [...set] : [...set].sort((a, b) => a - b);
      out.push({
        id: this.jobs[i]?.id as string,
        children: ordered.map((c) => this.jobs[c]?.id as string),
      });
    }
    return out;
  }

  /** The workflow as a Pegasus 5 document (plain data, ready for a YAML writer). */
  toDocument(): Record<string, unknown> {
    return compact({
      pegasus: PEGASUS_VERSION,
      name: this.name,
      profiles: profilesDoc(this.profiles),
      metadata: metadataDoc(this.metadata),
      siteCatalog: this.siteCatalog?.toDocument(true),
      replicaCatalog: this.replicaCatalog?.toDocument(true),
      transformationCatalog: this.transformationCatalog?.toDocument(true),
      jobs: this.jobs.map((j) => j.toDocument()),
      jobDependencies: this.dependencies(),
    });
  }

  toYaml(): string {
    return toYaml(this.toDocument());
  }

  /** Write the workflow as Pegasus 5 YAML (default `workflow.yml`). */
  write(file = 'workflow.yml', opts: { signal?: AbortSignal } = {}): Promise<void> {
    return writeYamlDocument(file, this.toDocument(), opts);
  }

  /** The workflow model: the same as reading the written YAML back. */
  toModel(env: NodeJS.ProcessEnv = process.env): WorkflowModel {
    return workflowFromDocument(this.toDocument(), this.describe(), env);
  }

  /**
   * The workflow with its inline catalogs as the catalogs that apply, ready for the planner
   * without writing files (what `readWorkflow` gives for the written file when no catalog
   * files lie beside it).
   */
  toLoaded(env: NodeJS.ProcessEnv = process.env): LoadedWorkflow {
    const warnings: string[] = [];
    const workflow = workflowFromDocument(this.toDocument(), this.describe(), env, warnings);
    return {
      workflow,
      replicas: mergeReplicaCatalogs(workflow.replicaCatalog, undefined),
      transformations: mergeTransformationCatalogs(workflow.transformationCatalog, undefined),
      sites: mergeSiteCatalogs(workflow.siteCatalog, undefined),
      warnings,
      sources: { workflow: this.describe() },
    };
  }
}
