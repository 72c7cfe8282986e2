/**
 * Jobs (Pegasus' Python API `Job`, `SubWorkflow`): a transformation with arguments and the
 * files it reads and writes. Chained calls; names are validated when given.
 */
import { AloftError } from '../../lib/errors/index.js';
import type { FileLink } from '../model/types.js';
import { assertJobId, assertSafeName } from '../model/names.js';
import { Annotated, compact, metadataDoc, profilesDoc } from './annotated.js';
import { File, asFile, type FileLike } from './file.js';
import { Transformation } from './transformation-catalog.js';

export interface InputOptions {
  /** Use the file in place from its replica location, without staging (Pegasus `bypass`). */
  bypassStaging?: boolean;
  /** Sub-workflows: the file is for the sub-workflow's planner, not staged to the job. */
  forPlanning?: boolean;
}

export interface OutputOptions {
  /** Copy to the output site after the job (default true). */
  stageOut?: boolean;
  /** Record in the output replica catalog (default true). */
  registerReplica?: boolean;
  /** A missing output does not fail the job (default false). */
  optional?: boolean;
}

interface Use {
  file: File;
  link: FileLink;
  stageOut?: boolean;
  registerReplica?: boolean;
  bypass?: boolean;
  forPlanning?: boolean;
  optional?: boolean;
}

type ArgLike = string | number | File;

function splitOptions<T extends object>(items: (FileLike | T)[]): { files: FileLike[]; opts: T } {
  const last = items[items.length - 1];
  if (last !== undefined && typeof last === 'object' && !(last instanceof File))
    return { files: items.slice(0, -1) as FileLike[], opts: last as T };
  return { files: items as FileLike[], opts: {} as T };
}

export abstract class AbstractJob extends Annotated {
  /** The job id: given, or assigned (`ID0000001`, ...) when added to a workflow. */
  id: string | undefined;
  nodeLabel: string | undefined;
  readonly args: string[] = [];
  readonly uses: Use[] = [];
  stdin: File | undefined;
  stdout: File | undefined;
  stderr: File | undefined;

  constructor(opts: { id?: string; nodeLabel?: string }) {
    super();
    if (opts.id !== undefined)
      this.id = assertJobId(opts.id, `${this.kind()}(id ${JSON.stringify(opts.id)})`);
    this.nodeLabel = opts.nodeLabel;
  }

  protected abstract kind(): string;

  protected describe(): string {
    return `${this.kind()}(${this.id ?? this.label()})`;
  }

  protected abstract label(): string;

  /** Arguments in order; a File stands for its lfn. */
  addArgs(...args: ArgLike[]): this {
    for (const a of args) {
      if (a instanceof File) this.args.push(a.lfn);
      else if (typeof a === 'string') this.args.push(a);
      else if (typeof a === 'number' && Number.isFinite(a)) this.args.push(String(a));
      else
        throw AloftError.invalid({
          where: `${this.describe()}.addArgs`,
          message: `argument ${String(a)} is not a string, number or File`,
        });
    }
    return this;
  }

  private addUse(use: Use, where: string): void {
    if (this.uses.some((u) => u.file.lfn === use.file.lfn))
      throw AloftError.invalid({
        where: `${this.describe()}.${where}`,
        message: `file '${use.file.lfn}' is already used by this job`,
        hint: 'add each file once, as input or as output',
      });
    this.uses.push(use);
  }

  /** `addInputs(fa, fb)` or `addInputs(fa, { bypassStaging: true })`. */
  addInputs(...items: (FileLike | InputOptions)[]): this {
    const { files, opts } = splitOptions<InputOptions>(items);
    for (const f of files)
      this.addUse(
        {
          file: asFile(f),
          link: 'input',
          bypass: opts.bypassStaging,
          forPlanning: opts.forPlanning,
        },
        'addInputs',
      );
    return this;
  }

  /** `addOutputs(fb)` or `addOutputs(fb, { stageOut: false, registerReplica: false })`. */
  addOutputs(...items: (FileLike | OutputOptions)[]): this {
    const { files, opts } = splitOptions<OutputOptions>(items);
    for (const f of files)
      this.addUse(
        {
          file: asFile(f),
          link: 'output',
          stageOut: opts.stageOut ?? true,
          registerReplica: opts.registerReplica ?? true,
          optional: opts.optional,
        },
        'addOutputs',
      );
    return this;
  }

  /** A checkpoint file: written periodically and restored on retry. */
  addCheckpoint(file: FileLike, opts: OutputOptions = {}): this {
    this.addUse(
      {
        file: asFile(file),
        link: 'checkpoint',
        stageOut: opts.stageOut ?? true,
        registerReplica: opts.registerReplica ?? true,
        optional: opts.optional,
      },
      'addCheckpoint',
    );
    return this;
  }

  /** Read stdin from a file; the file becomes an input of the job. */
  setStdin(file: FileLike): this {
    const f = asFile(file);
    this.addInputs(f);
    this.stdin = f;
    return this;
  }

  /** Write stdout to a file; the file becomes an output of the job. */
  setStdout(file: FileLike, opts: OutputOptions = {}): this {
    const f = asFile(file);
    this.addOutputs(f, opts);
    this.stdout = f;
    return this;
  }

  /** Write stderr to a file; the file becomes an output of the job. */
  setStderr(file: FileLike, opts: OutputOptions = {}): this {
    const f = asFile(file);
    this.addOutputs(f, opts);
    this.stderr = f;
    return this;
  }

  setNodeLabel(label: string): this {
    this.nodeLabel = label;
    return this;
  }

  /** The lfns this job reads and writes (for dependency inference). */
  inputs(): string[] {
    return this.uses.filter((u) => u.link === 'input').map((u) => u.file.lfn);
  }

  outputs(): string[] {
    return this.uses.filter((u) => u.link !== 'input').map((u) => u.file.lfn);
  }

  protected usesDoc(): Record<string, unknown>[] {
    return this.uses.map((u) =>
      compact({
        lfn: u.file.lfn,
        metadata: metadataDoc(u.file.metadata),
        type: u.link,
        stageOut: u.link === 'input' ? undefined : u.stageOut,
        registerReplica: u.link === 'input' ? undefined : u.registerReplica,
        bypass: u.bypass ? true : undefined,
        forPlanning: u.forPlanning ? true : undefined,
        optional: u.optional ? true : undefined,
      }),
    );
  }

  protected commonDoc(): Record<string, unknown> {
    if (this.id === undefined)
      throw AloftError.invalid({
        where: this.describe(),
        message: 'the job has no id',
        hint: 'add it to a Workflow (which assigns ids) or give { id } when creating it',
      });
    return {
      id: this.id,
      nodeLabel: this.nodeLabel,
      arguments: [...this.args],
      uses: this.usesDoc(),
      stdin: this.stdin?.lfn,
      stdout: this.stdout?.lfn,
      stderr: this.stderr?.lfn,
      profiles: profilesDoc(this.profiles),
      metadata: metadataDoc(this.metadata),
    };
  }

  abstract toDocument(): Record<string, unknown>;
}

export interface JobOptions {
  id?: string;
  nodeLabel?: string;
  namespace?: string;
  version?: string;
}

/** A job running a transformation: `new Job('preprocess')` or `new Job(transformation)`. */
export class Job extends AbstractJob {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly version: string | undefined;

  constructor(transformation: string | Transformation, opts: JobOptions = {}) {
    super(opts);
    const t = transformation instanceof Transformation ? transformation : undefined;
    const name = t ? t.name : transformation;
    this.name = assertSafeName(name, 'transformation name', `Job(${JSON.stringify(name)})`);
    const namespace = opts.namespace ?? t?.namespace;
    const version = opts.version ?? t?.version;
    this.namespace =
      namespace === undefined
        ? undefined
        : assertSafeName(namespace, 'name', `Job(${name}): namespace`);
    this.version =
      version === undefined ? undefined : assertSafeName(version, 'name', `Job(${name}): version`);
  }

  protected kind(): string {
    return 'Job';
  }

  protected label(): string {
    return this.name;
  }

  toDocument(): Record<string, unknown> {
    const c = this.commonDoc();
    return compact({
      type: 'job',
      namespace: this.namespace,
      version: this.version,
      name: this.name,
      ...c,
    });
  }
}

/**
 * A job that plans and runs another workflow (`pegasusWorkflow`), or runs a ready-made
 * DAG (`condorWorkflow`, `isPlanned: true`). The workflow file is an input of the job.
 */
export class SubWorkflow extends AbstractJob {
  readonly file: File;
  readonly isPlanned: boolean;

  constructor(file: FileLike, opts: { isPlanned?: boolean; id?: string; nodeLabel?: string } = {}) {
    super(opts);
    this.file = asFile(file);
    this.isPlanned = opts.isPlanned ?? false;
    this.addInputs(this.file);
  }

  protected kind(): string {
    return 'SubWorkflow';
  }

  protected label(): string {
    return this.file.lfn;
  }

  toDocument(): Record<string, unknown> {
    const c = this.commonDoc();
    return compact({
      type: this.isPlanned ? 'condorWorkflow' : 'pegasusWorkflow',
      file: this.file.lfn,
      ...c,
    });
  }
}
