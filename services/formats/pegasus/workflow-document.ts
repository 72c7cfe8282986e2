/**
 * Pegasus 5 abstract workflow (wf-5.0.yml) → the workflow model, read as Pegasus' planner
 * reads it: jobs without `type` are `job`s; sub-workflow jobs (`pegasusWorkflow`,
 * `condorWorkflow`) carry their workflow file in `file`; inline catalogs are read with the
 * catalog readers; every problem in the document is collected before one
 * AloftError INVALID_ARGUMENT is thrown.
 *
 * FileUse defaults (as Pegasus' Python API writes them): outputs and checkpoints stage out
 * and register unless told otherwise; inputs do neither; `bypass`, `forPlanning` and
 * `optional` default to false. A use's size comes from `metadata.size` or a `size` key.
 * Job profiles are kept as written (merging with catalog profiles is the planner's job).
 * Top-level `x-aloft` (a map) becomes `extensions`; every other `x-*` key is dropped.
 */
import { AloftError } from '../../../lib/errors/index.js';
import type { Dependency, FileLink, FileUse, Job, JobType, Workflow } from '../../model/types.js';
import { isJobId, validateLfn } from '../../model/names.js';
import { EMPTY_METADATA, readMetadata, readPegasusVersion, readProfiles } from './common.js';
import { DocReader, KeyPath, describe, isMap, setOwn, type YamlMap } from './doc-reader.js';
import { readReplicaCatalog } from './replica-catalog.js';
import { readSiteCatalog } from './site-catalog.js';
import { readTransformationCatalog } from './transformation-catalog.js';

const WORKFLOW_KEYS: ReadonlySet<string> = new Set([
  'pegasus',
  'name',
  'version',
  'siteCatalog',
  'replicaCatalog',
  'transformationCatalog',
  'jobs',
  'jobDependencies',
  'profiles',
  'hooks',
  'metadata',
]);
const JOB_KEYS: ReadonlySet<string> = new Set([
  'type',
  'id',
  'name',
  'namespace',
  'version',
  'nodeLabel',
  'metadata',
  'arguments',
  'stdin',
  'stdout',
  'stderr',
  'uses',
  'profiles',
  'hooks',
  'file',
]);
const USE_KEYS: ReadonlySet<string> = new Set([
  'lfn',
  'metadata',
  'type',
  'stageOut',
  'registerReplica',
  'optional',
  'size',
  'namespace',
  'version',
  'executable',
  'bypass',
  'forPlanning',
]);
const DEPENDENCY_KEYS: ReadonlySet<string> = new Set(['id', 'children']);

const JOB_TYPES: readonly JobType[] = ['job', 'pegasusWorkflow', 'condorWorkflow'];
const LINKS: readonly FileLink[] = ['input', 'output', 'checkpoint'];

/** The transformation Pegasus runs for a sub-workflow job (its planner / DAGMan). */
const SUB_WORKFLOW_NAMES: Record<Exclude<JobType, 'job'>, { namespace: string; name: string }> = {
  pegasusWorkflow: { namespace: 'pegasus', name: 'pegasus-plan' },
  condorWorkflow: { namespace: 'condor', name: 'dagman' },
};

/** Read a workflow document into `r` (problems and warnings collected there). */
export function readWorkflowDocument(r: DocReader, doc: unknown): Workflow {
  const root = KeyPath.root();
  const wf: Workflow = {
    name: '',
    pegasusVersion: '',
    jobs: [],
    dependencies: [],
    profiles: {},
    metadata: {},
    extensions: {},
  };
  const obj = r.map(doc, root, undefined, 'a Pegasus workflow (a map with pegasus, name and jobs)');
  if (!obj) {
    if (doc === null || doc === undefined)
      r.problem(
        root,
        undefined,
        'the workflow file is empty',
        'a workflow needs pegasus:, name: and jobs:',
      );
    return wf;
  }
  r.checkKeys(obj, WORKFLOW_KEYS, root, 'the workflow');
  wf.pegasusVersion = readPegasusVersion(r, obj, root, true) ?? '';
  const nameValue = r.required(obj, 'name', root, 'the workflow');
  if (nameValue !== undefined) wf.name = r.name(nameValue, root, 'name', 'workflow name') ?? '';
  wf.profiles = readProfiles(r, obj['profiles'], root, 'profiles');
  wf.metadata = readMetadata(r, obj['metadata'], root, 'metadata');

  if ('replicaCatalog' in obj)
    wf.replicaCatalog = readReplicaCatalog(
      r,
      obj['replicaCatalog'],
      root.key('replicaCatalog'),
      false,
    );
  if ('transformationCatalog' in obj)
    wf.transformationCatalog = readTransformationCatalog(
      r,
      obj['transformationCatalog'],
      root.key('transformationCatalog'),
      false,
    );
  if ('siteCatalog' in obj)
    wf.siteCatalog = readSiteCatalog(r, obj['siteCatalog'], root.key('siteCatalog'), false);

  const jobsAt = root.key('jobs');
  const jobs = r.list(
    r.required(obj, 'jobs', root, 'the workflow'),
    jobsAt,
    undefined,
    'write jobs: as a list, one "- id: ..." entry per job',
  );
  if (jobs) {
    const seen = new Map<string, number>();
    for (let i = 0; i < jobs.length; i++) {
      const job = readJob(r, jobs[i], jobsAt.index(i));
      if (!job) continue;
      const first = seen.get(job.id);
      if (first !== undefined) {
        r.problem(
          jobsAt.index(i).labelled('job', job.id),
          'id',
          `duplicate job id '${job.id}' (also jobs[${first}])`,
          'give every job its own id',
        );
        continue;
      }
      seen.set(job.id, i);
      wf.jobs.push(job);
    }
  }

  const depsAt = root.key('jobDependencies');
  const deps = r.list(obj['jobDependencies'], depsAt, undefined);
  if (deps) {
    for (let i = 0; i < deps.length; i++) {
      const d = readDependency(r, deps[i], depsAt.index(i));
      if (d) wf.dependencies.push(d);
    }
  }

  const ext = obj['x-aloft'];
  if (ext !== undefined && ext !== null) {
    if (isMap(ext))
      wf.extensions = expandTree(r, ext, root.key('x-aloft')) as Record<string, unknown>;
    else r.problem(root, 'x-aloft', `must be a map of aloft settings, not ${describe(ext)}`);
  }
  return wf;
}

function readJob(r: DocReader, v: unknown, at: KeyPath): Job | undefined {
  const obj = r.map(v, at, undefined, 'a job (a map with id, name, arguments and uses)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty job entry');
    return undefined;
  }
  const rawId = obj['id'];
  const here =
    typeof rawId === 'string' || typeof rawId === 'number' ? at.labelled('job', rawId) : at;
  r.checkKeys(obj, JOB_KEYS, here, 'a job');

  const type: JobType | undefined =
    obj['type'] == null ? 'job' : r.oneOf(obj['type'], here, 'type', JOB_TYPES);
  const idValue = r.required(obj, 'id', here, 'a job');
  const id = idValue === undefined ? undefined : r.name(idValue, here, 'id', 'job id');

  let name: string | undefined;
  let namespace: string | undefined;
  let file: string | undefined;
  if (type === 'job' || type === undefined) {
    const nameValue = type === 'job' ? r.required(obj, 'name', here, 'a job') : obj['name'];
    if (nameValue != null) name = r.name(nameValue, here, 'name', 'transformation name');
    if (obj['file'] != null)
      r.warn(here, 'file', "'file' is only used by sub-workflow jobs; ignored");
  } else {
    const fileValue = r.required(obj, 'file', here, `a ${type} job`);
    if (fileValue !== undefined) file = r.name(fileValue, here, 'file', 'lfn');
    const fallback = SUB_WORKFLOW_NAMES[type];
    name =
      obj['name'] == null
        ? fallback.name
        : r.name(obj['name'], here, 'name', 'transformation name');
    if (obj['name'] == null) namespace = fallback.namespace;
  }
  if (obj['namespace'] != null) namespace = r.name(obj['namespace'], here, 'namespace', 'name');
  const version =
    obj['version'] == null ? undefined : r.name(obj['version'], here, 'version', 'name');
  const nodeLabel = r.string(obj['nodeLabel'], here, 'nodeLabel');

  let args: string[] = [];
  const argList = r.list(
    obj['arguments'],
    here,
    'arguments',
    'write arguments as a list of words, e.g. arguments: [-i, f.a, -o, f.b]',
  );
  if (argList && r.ownsDocument && allPlainStrings(argList)) {
    args = argList as string[];
  } else if (argList && argList.length > 0) {
    args = new Array<string>(argList.length);
    let k = 0;
    let argsAt: KeyPath | undefined;
    for (let i = 0; i < argList.length; i++) {
      const a = argList[i];
      const s =
        typeof a === 'string' && !a.includes('${')
          ? a
          : r.string(a, (argsAt ??= here.key('arguments')), i);
      if (s !== undefined) args[k++] = s;
    }
    if (k < args.length) args.length = k;
  }

  let uses: FileUse[] = [];
  const useList = r.list(obj['uses'], here, 'uses', 'write uses: as a list of {lfn, type} entries');
  if (useList && useList.length > 0) {
    // Sized exactly (a list grown by push from [] reserves 17 slots, for every job).
    uses = new Array<FileUse>(useList.length);
    let k = 0;
    let usesAt: KeyPath | undefined;
    for (let i = 0; i < useList.length; i++) {
      const v = useList[i];
      const u =
        (isMap(v) ? plainUse(v) : undefined) ??
        readUse(r, v, (usesAt ??= here.key('uses')).index(i));
      if (u) uses[k++] = u;
    }
    if (k < uses.length) uses.length = k;
  }

  const stdin = obj['stdin'] == null ? undefined : r.name(obj['stdin'], here, 'stdin', 'lfn');
  const stdout = obj['stdout'] == null ? undefined : r.name(obj['stdout'], here, 'stdout', 'lfn');
  const stderr = obj['stderr'] == null ? undefined : r.name(obj['stderr'], here, 'stderr', 'lfn');
  const profiles = readProfiles(r, obj['profiles'], here, 'profiles');
  const metadata = readMetadata(r, obj['metadata'], here, 'metadata');

  if (id === undefined || type === undefined || name === undefined) return undefined;
  const job: Job = { id, type, name, arguments: args, uses, profiles, metadata };
  if (namespace !== undefined) job.namespace = namespace;
  if (version !== undefined) job.version = version;
  if (nodeLabel !== undefined) job.nodeLabel = nodeLabel;
  if (stdin !== undefined) job.stdin = stdin;
  if (stdout !== undefined) job.stdout = stdout;
  if (stderr !== undefined) job.stderr = stderr;
  if (file !== undefined) job.file = file;
  return job;
}

/**
 * The common file use read without the general machinery: `{lfn, type}` with at most the
 * flags Pegasus' Python API writes, as `true`/`false` (or JSON booleans), and nothing that
 * could need a message (no other key, no metadata or size, no `${`, a valid lfn). Returns
 * exactly what readUse returns for it, or undefined to let readUse read (and report) the
 * entry. Workflows have several uses per job: this path allocates only the FileUse.
 */
function plainUse(obj: YamlMap): FileUse | undefined {
  let lfn: string | undefined;
  let link: FileLink | undefined;
  let stageOut: boolean | undefined;
  let registerReplica: boolean | undefined;
  let bypass = false;
  let forPlanning = false;
  let optional = false;
  for (const k in obj) {
    const v = obj[k];
    switch (k) {
      case 'lfn':
        if (typeof v !== 'string' || v.includes('${') || validateLfn(v) !== undefined)
          return undefined;
        lfn = v;
        break;
      case 'type':
        if (v !== 'input' && v !== 'output' && v !== 'checkpoint') return undefined;
        link = v;
        break;
      case 'stageOut':
        stageOut = plainBool(v);
        if (stageOut === undefined) return undefined;
        break;
      case 'registerReplica':
        registerReplica = plainBool(v);
        if (registerReplica === undefined) return undefined;
        break;
      case 'bypass': {
        const b = plainBool(v);
        if (b === undefined) return undefined;
        bypass = b;
        break;
      }
      case 'forPlanning': {
        const b = plainBool(v);
        if (b === undefined) return undefined;
        forPlanning = b;
        break;
      }
      case 'optional': {
        const b = plainBool(v);
        if (b === undefined) return undefined;
        optional = b;
        break;
      }
      default:
        return undefined;
    }
  }
  if (lfn === undefined || link === undefined) return undefined;
  const produced = link !== 'input';
  return {
    lfn,
    link,
    stageOut: stageOut ?? produced,
    registerReplica: registerReplica ?? produced,
    bypass,
    forPlanning,
    optional,
    metadata: EMPTY_METADATA,
  };
}

/** `true`/`false` as written by Pegasus' API (or a JSON boolean); undefined for the rest. */
function plainBool(v: unknown): boolean | undefined {
  if (v === 'false' || v === false) return false;
  if (v === 'true' || v === true) return true;
  return undefined;
}

function readUse(r: DocReader, v: unknown, at: KeyPath): FileUse | undefined {
  const obj = r.map(v, at, undefined, 'a file use (a map with lfn and type)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty file use entry');
    return undefined;
  }
  r.checkKeys(obj, USE_KEYS, at, 'a file use');
  const lfnValue = r.required(obj, 'lfn', at, 'a file use');
  const lfn = lfnValue === undefined ? undefined : r.name(lfnValue, at, 'lfn', 'lfn');
  const typeValue = r.required(obj, 'type', at, 'a file use');
  let link: FileLink | undefined;
  if (typeValue !== undefined) {
    const s = r.string(typeValue, at, 'type');
    if (s !== undefined) {
      if ((LINKS as readonly string[]).includes(s)) link = s as FileLink;
      else if (s === 'inout' || s === 'none')
        r.problem(
          at,
          'type',
          `link type '${s}' is not supported by aloft`,
          'declare the file as input, output or checkpoint (use a new lfn for a modified copy)',
        );
      else r.problem(at, 'type', `${JSON.stringify(s)} is not one of ${LINKS.join(', ')}`);
    }
  }
  const produced = link !== 'input';
  const stageOut = r.bool(obj['stageOut'], at, 'stageOut') ?? produced;
  const registerReplica = r.bool(obj['registerReplica'], at, 'registerReplica') ?? produced;
  const bypass = r.bool(obj['bypass'], at, 'bypass') ?? false;
  const forPlanning = r.bool(obj['forPlanning'], at, 'forPlanning') ?? false;
  const optional = r.bool(obj['optional'], at, 'optional') ?? false;
  const metadata = readMetadata(r, obj['metadata'], at, 'metadata');
  let size: number | undefined;
  if (metadata['size'] !== undefined)
    size = r.size(metadata['size'], at.key('metadata'), 'size', true);
  if (obj['size'] != null) size = r.size(obj['size'], at, 'size') ?? size;
  if (lfn === undefined || link === undefined) return undefined;
  const use: FileUse = {
    lfn,
    link,
    stageOut,
    registerReplica,
    bypass,
    forPlanning,
    optional,
    metadata,
  };
  if (size !== undefined) use.size = size;
  return use;
}

/** Every entry a string that needs no `${VAR}` expansion. */
function allPlainStrings(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (typeof v !== 'string' || v.includes('${')) return false;
  }
  return true;
}

/** The keys of a Dependency, in the order the model (and its JSON) has them. */
const PLAIN_DEPENDENCY_KEYS: readonly string[] = ['id', 'children'];

/**
 * A parsed `{id, children}` entry (exactly these keys, in this order, valid job ids) is
 * already a Dependency: with `ownsDocument`, readDependency keeps it instead of building
 * a copy (a 100k-job workflow has about as many entries).
 */
function isPlainDependency(obj: YamlMap): obj is YamlMap & Dependency {
  let keys = 0;
  for (const k in obj) if (k !== PLAIN_DEPENDENCY_KEYS[keys++]) return false;
  if (keys !== PLAIN_DEPENDENCY_KEYS.length) return false;
  const id = obj['id'];
  const children = obj['children'];
  if (typeof id !== 'string' || !isJobId(id) || !Array.isArray(children)) return false;
  for (let i = 0; i < children.length; i++) {
    const c: unknown = children[i];
    if (typeof c !== 'string' || !isJobId(c)) return false;
  }
  return true;
}

function readDependency(r: DocReader, v: unknown, at: KeyPath): Dependency | undefined {
  if (r.ownsDocument && isMap(v) && isPlainDependency(v)) return v;
  const obj = r.map(v, at, undefined, 'a dependency (a map with id and children)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty dependency entry');
    return undefined;
  }
  const rawId = obj['id'];
  const here = typeof rawId === 'string' ? at.labelled('job', rawId) : at;
  r.checkKeys(obj, DEPENDENCY_KEYS, here, 'a dependency');
  const idValue = r.required(obj, 'id', here, 'a dependency');
  const id = idValue === undefined ? undefined : r.name(idValue, here, 'id', 'job id');
  let children: string[] = [];
  const list = r.list(obj['children'], here, 'children', 'write children: [ID0000002, ID0000003]');
  if (list && list.length > 0) {
    children = new Array<string>(list.length);
    let k = 0;
    let childrenAt: KeyPath | undefined;
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      if (typeof c === 'string' && isJobId(c)) children[k++] = c;
      else {
        const ok = r.name(c, (childrenAt ??= here.key('children')), i, 'job id');
        if (ok !== undefined) children[k++] = ok;
      }
    }
    if (k < children.length) children.length = k;
  }
  if (id === undefined) return undefined;
  return { id, children };
}

/** Copy an opaque tree (x-aloft), expanding `${VAR}` in its strings. */
function expandTree(r: DocReader, v: unknown, at: KeyPath): unknown {
  if (typeof v === 'string') return r.expand(v, at);
  if (Array.isArray(v)) return v.map((x, i) => expandTree(r, x, at.index(i)));
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const k in v) setOwn(out, k, expandTree(r, v[k], at.key(k)));
    return out;
  }
  return v;
}

/**
 * Pure converter: a parsed workflow document → the model. Throws AloftError
 * INVALID_ARGUMENT listing every problem; tolerated oddities go to `warnings` when given.
 */
export function workflowFromDocument(
  doc: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  warnings?: string[],
): Workflow {
  const r = new DocReader(source, env, [], warnings);
  const wf = readWorkflowDocument(r, doc);
  if (r.problems.length > 0) throw AloftError.invalid(r.problems);
  return wf;
}
