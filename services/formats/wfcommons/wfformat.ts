/**
 * WfCommons WfFormat (schema 1.3, 1.4, 1.5) → the workflow model. Pure: takes the parsed
 * JSON. A trace describes one real run; it becomes an abstract workflow with the measured
 * numbers as Pegasus profiles, so it can be planned and replayed.
 *
 * Mapping:
 * - layout: 1.5 `workflow.specification.tasks[]` (+ `specification.files[]` sizes,
 *   `workflow.execution.tasks[]` measurements joined by id); 1.3/1.4 `workflow.tasks[]`
 *   (or `workflow.jobs[]`) with files and measurements on the task itself;
 * - job id: the task id (1.3: the name when there is no id), sanitised to `[A-Za-z0-9_-]`
 *   and made unique deterministically (valid ids keep their spelling); the original is in
 *   job metadata `wf.id`, the task name in `wf.name`;
 * - job name (the transformation): `category`, else the command's program when it is a
 *   plain program name (its basename), else the task name without a trailing `_ID\d+` or
 *   `_\d+`; sanitised to `[A-Za-z0-9_.-]`;
 * - uses: input and output files; file ids that are not valid lfns (absolute paths, ...) are
 *   mapped deterministically (`sanitizeLfn`, unique), the original kept in use metadata
 *   `wf.id`; size from `sizeInBytes` (bytes) or 1.3's `size` (KB, × 1024); outputs get
 *   Pegasus' defaults (stageOut, registerReplica true);
 * - profiles `pegasus.runtime` (seconds, as measured), `pegasus.cores` (whole cores, ≥ 1),
 *   `pegasus.memory` (MB, rounded up) from `runtimeInSeconds`|`runtime`,
 *   `coreCount`|`cores`, `memoryInBytes`|1.3's `memory` (KB);
 * - dependencies: the union of every task's `parents` and `children`, one entry per parent
 *   (children in task order); references resolve by task id, then (1.3/1.4) by task name;
 * - arguments are left empty: trace command lines refer to the original run's paths.
 * Unknown references, duplicate task ids and wrong types are Problems, all reported at once.
 */
import { AloftError, type Problem } from '../../../lib/errors/index.js';
import {
  MAX_JOB_ID_LENGTH,
  MAX_LFN_LENGTH,
  sanitizeJobId,
  sanitizeLfn,
  sanitizeName,
  validateJobId,
  validateLfn,
} from '../../model/names.js';
import type { Dependency, FileUse, Job, Profiles, Workflow } from '../../model/types.js';
import { UniqueNames } from './unique-names.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

interface RawFile {
  id: string;
  link: 'input' | 'output';
  size?: number;
}

/** A task after the layout differences between schema versions are gone. */
interface RawTask {
  at: string;
  id: string;
  name: string;
  category?: string;
  program?: string;
  type?: string;
  parents: string[];
  children: string[];
  files: RawFile[];
  runtime?: number;
  cores?: number;
  memoryBytes?: number;
}

class Collector {
  readonly problems: Problem[] = [];
  constructor(readonly source: string) {}
  problem(at: string, message: string, hint?: string): void {
    const where = `${this.source}: ${at}`;
    this.problems.push(hint === undefined ? { where, message } : { where, message, hint });
  }
  list(v: unknown, at: string, required: boolean): unknown[] | undefined {
    if (Array.isArray(v)) return v;
    if (v === undefined || v === null) {
      if (required) this.problem(at, 'missing required list');
      return undefined;
    }
    this.problem(at, `must be a list, not ${typeof v}`);
    return undefined;
  }
  strings(v: unknown, at: string): string[] {
    const list = this.list(v, at, false) ?? [];
    const out: string[] = [];
    list.forEach((x, i) => {
      const s = str(x);
      if (s === undefined || s === '') this.problem(`${at}[${i}]`, 'must be a non-empty string');
      else out.push(s);
    });
    return out;
  }
}

function readSpec15(c: Collector, wf: Obj): RawTask[] {
  const spec = wf['specification'] as Obj;
  const sizes = new Map<string, number>();
  const files = c.list(spec['files'], 'workflow.specification.files', false) ?? [];
  files.forEach((f, i) => {
    const at = `workflow.specification.files[${i}]`;
    if (!isObj(f) || str(f['id']) === undefined) {
      c.problem(at, 'must be a map with an id');
      return;
    }
    const size = num(f['sizeInBytes']);
    if (size !== undefined) sizes.set(str(f['id']) as string, size);
  });
  const execution = new Map<string, Obj>();
  const exec = isObj(wf['execution']) ? wf['execution'] : {};
  (c.list(exec['tasks'], 'workflow.execution.tasks', false) ?? []).forEach((t) => {
    const id = isObj(t) ? str(t['id']) : undefined;
    if (id !== undefined && isObj(t)) execution.set(id, t);
  });
  const tasks = c.list(spec['tasks'], 'workflow.specification.tasks', true) ?? [];
  const out: RawTask[] = [];
  tasks.forEach((t, i) => {
    const at = `workflow.specification.tasks[${i}]`;
    if (!isObj(t)) {
      c.problem(at, 'must be a map (a task)');
      return;
    }
    const id = str(t['id']);
    const name = str(t['name']) ?? id;
    if (id === undefined || id === '' || name === undefined) {
      c.problem(`${at}.id`, 'a task needs an id');
      return;
    }
    const x = execution.get(id) ?? {};
    const command = isObj(x['command']) ? x['command'] : isObj(t['command']) ? t['command'] : {};
    const fileOf =
      (link: 'input' | 'output') =>
      (fid: string): RawFile => {
        const size = sizes.get(fid);
        return size === undefined ? { id: fid, link } : { id: fid, link, size };
      };
    out.push({
      at,
      id,
      name,
      category: str(t['category']) ?? str(x['category']),
      program: str(command['program']),
      parents: c.strings(t['parents'], `${at}.parents`),
      children: c.strings(t['children'], `${at}.children`),
      files: [
        ...c.strings(t['inputFiles'], `${at}.inputFiles`).map(fileOf('input')),
        ...c.strings(t['outputFiles'], `${at}.outputFiles`).map(fileOf('output')),
      ],
      runtime: num(x['runtimeInSeconds']) ?? num(t['runtimeInSeconds']),
      cores: num(x['coreCount']) ?? num(x['cores']) ?? num(t['cores']),
      memoryBytes: num(x['memoryInBytes']) ?? num(t['memoryInBytes']),
    });
  });
  return out;
}

function readTasks14(c: Collector, wf: Obj): RawTask[] {
  const key = Array.isArray(wf['tasks']) || !('jobs' in wf) ? 'tasks' : 'jobs';
  const tasks = c.list(wf[key], `workflow.${key}`, true) ?? [];
  const out: RawTask[] = [];
  tasks.forEach((t, i) => {
    const at = `workflow.${key}[${i}]`;
    if (!isObj(t)) {
      c.problem(at, 'must be a map (a task)');
      return;
    }
    const name = str(t['name']);
    const id = str(t['id']) ?? name;
    if (id === undefined || id === '' || name === undefined) {
      c.problem(`${at}.name`, 'a task needs a name');
      return;
    }
    const files: RawFile[] = [];
    (c.list(t['files'], `${at}.files`, false) ?? []).forEach((f, j) => {
      const fat = `${at}.files[${j}]`;
      const fid = isObj(f) ? (str(f['name']) ?? str(f['id'])) : undefined;
      if (!isObj(f) || fid === undefined || fid === '') {
        c.problem(fat, 'must be a map with a name');
        return;
      }
      const link = f['link'];
      if (link !== 'input' && link !== 'output') {
        c.problem(`${fat}.link`, `must be input or output, not ${JSON.stringify(link)}`);
        return;
      }
      const bytes = num(f['sizeInBytes']);
      const kb = num(f['size']);
      const size = bytes ?? (kb === undefined ? undefined : Math.round(kb * 1024));
      files.push(size === undefined ? { id: fid, link } : { id: fid, link, size });
    });
    const command = isObj(t['command']) ? t['command'] : {};
    const memKb = num(t['memory']);
    out.push({
      at,
      id,
      name,
      category: str(t['category']),
      program: str(command['program']),
      type: str(t['type']),
      parents: c.strings(t['parents'], `${at}.parents`),
      children: c.strings(t['children'], `${at}.children`),
      files,
      runtime: num(t['runtimeInSeconds']) ?? num(t['runtime']),
      cores: num(t['cores']) ?? num(t['coreCount']),
      memoryBytes: num(t['memoryInBytes']) ?? (memKb === undefined ? undefined : memKb * 1024),
    });
  });
  return out;
}

/** The transformation name of a task (see the module header). */
export function taskJobName(task: {
  name: string;
  category?: string | undefined;
  program?: string | undefined;
}): string {
  if (task.category !== undefined && task.category.trim() !== '')
    return sanitizeName(task.category.trim());
  const program = task.program?.trim();
  if (program !== undefined && program !== '' && !/\s/.test(program)) {
    const base = program.slice(program.lastIndexOf('/') + 1);
    if (base !== '') return sanitizeName(base);
  }
  return sanitizeName(task.name.replace(/_ID\d+$/, '').replace(/_\d+$/, '') || task.name);
}

function profilesOf(t: RawTask): Profiles {
  const pegasus: Record<string, string> = {};
  if (t.runtime !== undefined) pegasus['runtime'] = String(t.runtime);
  if (t.cores !== undefined) pegasus['cores'] = String(Math.max(1, Math.ceil(t.cores)));
  if (t.memoryBytes !== undefined && t.memoryBytes > 0)
    pegasus['memory'] = String(Math.max(1, Math.ceil(t.memoryBytes / (1024 * 1024))));
  return Object.keys(pegasus).length > 0 ? { pegasus } : {};
}

/**
 * Convert a parsed WfFormat document. Throws AloftError INVALID_ARGUMENT listing every
 * problem (not a WfFormat document, unknown parent/child references, duplicate ids).
 */
export function workflowFromWfFormat(doc: unknown, source: string): Workflow {
  const c = new Collector(source);
  if (!isObj(doc) || !isObj(doc['workflow'])) {
    throw AloftError.invalid({
      where: source,
      message: 'not a WfCommons WfFormat document (no "workflow" object)',
      hint: 'give a WfFormat JSON trace (schema 1.3–1.5), e.g. from wfcommons/WfInstances',
    });
  }
  const wf = doc['workflow'];
  const schemaVersion = str(doc['schemaVersion']) ?? '';
  const tasks = isObj(wf['specification']) ? readSpec15(c, wf) : readTasks14(c, wf);

  const byId = new Map<string, number>();
  const byName = new Map<string, number | -1>();
  tasks.forEach((t, i) => {
    const first = byId.get(t.id);
    if (first !== undefined) {
      c.problem(`${t.at}.id`, `duplicate task id '${t.id}' (also ${tasks[first]?.at})`);
      return;
    }
    byId.set(t.id, i);
    byName.set(t.name, byName.has(t.name) ? -1 : i);
  });

  const ids = new UniqueNames(
    (s) => validateJobId(s) === undefined,
    sanitizeJobId,
    MAX_JOB_ID_LENGTH,
  );
  ids.assign(tasks.map((t) => t.id));
  const lfns = new UniqueNames((s) => validateLfn(s) === undefined, sanitizeLfn, MAX_LFN_LENGTH);
  lfns.assign(tasks.flatMap((t) => t.files.map((f) => f.id)));

  const resolve = (ref: string, at: string): number | undefined => {
    const i = byId.get(ref) ?? byName.get(ref);
    if (i === undefined || i === -1) {
      c.problem(
        at,
        i === -1
          ? `task reference '${ref}' is ambiguous (several tasks have that name)`
          : `task reference '${ref}' matches no task`,
      );
      return undefined;
    }
    return i;
  };
  const childrenOf: Set<number>[] = tasks.map(() => new Set<number>());
  tasks.forEach((t, i) => {
    if (byId.get(t.id) !== i) return;
    t.parents.forEach((p, k) => {
      const j = resolve(p, `${t.at}.parents[${k}] (task ${t.id})`);
      if (j !== undefined) childrenOf[j]?.add(i);
    });
    t.children.forEach((ch, k) => {
      const j = resolve(ch, `${t.at}.children[${k}] (task ${t.id})`);
      if (j !== undefined) childrenOf[i]?.add(j);
    });
  });
  if (c.problems.length > 0) throw AloftError.invalid(c.problems);

  const jobs: Job[] = tasks.map((t) => {
    const uses: FileUse[] = [];
    const seen = new Set<string>();
    for (const f of t.files) {
      const lfn = lfns.get(f.id);
      const key = `${f.link}\u0000${lfn}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const produced = f.link === 'output';
      const use: FileUse = {
        lfn,
        link: f.link,
        stageOut: produced,
        registerReplica: produced,
        bypass: false,
        forPlanning: false,
        optional: false,
        metadata: lfn === f.id ? {} : { 'wf.id': f.id },
      };
      if (f.size !== undefined) use.size = f.size;
      uses.push(use);
    }
    const metadata: Record<string, string> = { 'wf.id': t.id, 'wf.name': t.name };
    if (t.type !== undefined) metadata['wf.type'] = t.type;
    return {
      id: ids.get(t.id),
      type: 'job',
      name: taskJobName(t),
      arguments: [],
      uses,
      profiles: profilesOf(t),
      metadata,
    };
  });

  const dependencies: Dependency[] = [];
  childrenOf.forEach((set, i) => {
    if (set.size === 0) return;
    const parent = jobs[i] as Job;
    dependencies.push({
      id: parent.id,
      children: [...set].sort((a, b) => a - b).map((j) => (jobs[j] as Job).id),
    });
  });

  const metadata: Record<string, string> = { 'wf.schemaVersion': schemaVersion };
  const docName = str(doc['name']);
  if (docName !== undefined) metadata['wf.name'] = docName;
  const system = isObj(doc['runtimeSystem'])
    ? doc['runtimeSystem']
    : isObj(doc['wms'])
      ? doc['wms']
      : undefined;
  const systemName = system ? str(system['name']) : undefined;
  if (systemName !== undefined) metadata['wf.runtimeSystem'] = systemName;

  return {
    name: sanitizeName((docName ?? 'wfcommons').replace(/\.json$/i, '')),
    // WfFormat has no Pegasus version; the model is Pegasus 5.0 shaped.
    pegasusVersion: '5.0',
    jobs,
    dependencies,
    profiles: {},
    metadata,
    extensions: {},
  };
}
