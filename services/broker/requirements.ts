/**
 * What a planned job needs from an agent (DESIGN §6 "Broker"): resources, platform, site,
 * executor and labels, read from the PlannedJob alone (pure, no I/O).
 *
 * Sources, in order of precedence:
 *   cores, memoryMb, gpus   job.resources (Pegasus profiles pegasus.cores/.memory/.gpus)
 *   diskMb                  job.resources.diskMb when > 0 (pegasus.diskspace); otherwise the
 *                           declared sizes of the job's inputs plus outputs (cluster: of all
 *                           members' files, each lfn once), rounded up to whole MB. Transfer
 *                           and cleanup jobs need no scratch disk unless diskspace is given.
 *   arch, os                the executable's `arch` / `os` (its transformation site), else
 *                           profiles aloft.arch / aloft.os (cluster: the members'); normalised
 *                           to Pegasus names (x64 -> x86_64, arm64 -> aarch64, darwin -> macosx)
 *   site                    job.site; an agent serves it when its ad's `site` or `sites` has it
 *   executors               compute: `synthetic` for aloft:synthetic, `docker` / `singularity`
 *                           / `shifter` for a container of that type, else `process`;
 *                           stage_in / stage_out / inter_site: `transfer`; cleanup: `cleanup`;
 *                           cluster: `cluster` plus its members' executors; register: `register`
 *                           (done by the scheduler itself; no agent advertises it)
 *   selector                profile aloft.selector (grammar in selector.ts), ANDed
 */
import { AloftError, type Problem } from '../../lib/errors/index.js';
import type { PlannedFile, PlannedJob } from '../../proto/index.js';
import { parseSelector, type SelectorClause } from './selector.js';

export const SYNTHETIC_PFN = 'aloft:synthetic';

/** One input the agent may already hold in its cache: looked up by url, then by lfn. */
export interface LocalityKey {
  url: string;
  lfn: string;
  /** Declared size in bytes (0 when unknown: the cache's own size is used). */
  size: number;
}

export interface Requirements {
  job: string;
  cores: number;
  memoryMb: number;
  diskMb: number;
  gpus: number;
  /** Normalised architecture; undefined = any. */
  arch?: string;
  /** Normalised operating system; undefined = any. */
  os?: string;
  site: string;
  /** Executors the agent must advertise, all of them, sorted. */
  executors: string[];
  selector: SelectorClause[];
  /** The job's inputs, for data-locality ranking. */
  inputs: LocalityKey[];
}

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x64: 'x86_64',
  amd64: 'x86_64',
  'x86-64': 'x86_64',
  arm64: 'aarch64',
  ia32: 'x86',
  i386: 'x86',
  i686: 'x86',
  ppc64el: 'ppc64le',
};
const OS_ALIASES: Readonly<Record<string, string>> = {
  darwin: 'macosx',
  macos: 'macosx',
  osx: 'macosx',
  win32: 'windows',
};

/** Pegasus' architecture name for Node's or Debian's (x64 -> x86_64, arm64 -> aarch64). */
export function normalizeArch(arch: string): string {
  const a = arch.trim().toLowerCase();
  return ARCH_ALIASES[a] ?? a;
}

/** Pegasus' os.type name for Node's (darwin -> macosx, win32 -> windows). */
export function normalizeOs(os: string): string {
  const o = os.trim().toLowerCase();
  return OS_ALIASES[o] ?? o;
}

function computeExecutor(job: PlannedJob): string {
  const exe = job.executable;
  if (exe?.pfn === SYNTHETIC_PFN) return 'synthetic';
  if (exe?.container) return exe.container.type;
  return 'process';
}

function executorsOf(job: PlannedJob): string[] {
  switch (job.kind) {
    case 'compute':
      return [computeExecutor(job)];
    case 'cluster':
      return [...new Set(['cluster', ...(job.members ?? []).map(computeExecutor)])].sort();
    case 'stage_in':
    case 'stage_out':
    case 'inter_site':
      return ['transfer'];
    case 'cleanup':
      return ['cleanup'];
    case 'register':
      return ['register'];
  }
}

function filesOf(job: PlannedJob): PlannedFile[] {
  const own = [...(job.inputs ?? []), ...(job.outputs ?? [])];
  return job.kind === 'cluster' ? [...own, ...(job.members ?? []).flatMap(filesOf)] : own;
}

const MB = 1024 * 1024;

function diskOf(job: PlannedJob): number {
  if (job.resources.diskMb > 0) return job.resources.diskMb;
  if (job.kind !== 'compute' && job.kind !== 'cluster') return 0;
  const sizes = new Map<string, number>();
  for (const f of filesOf(job)) sizes.set(f.lfn, Math.max(sizes.get(f.lfn) ?? 0, f.size ?? 0));
  let bytes = 0;
  for (const s of sizes.values()) bytes += s;
  return Math.ceil(bytes / MB);
}

function inputsOf(job: PlannedJob): LocalityKey[] {
  const list =
    job.kind === 'cluster'
      ? [...(job.inputs ?? []), ...(job.members ?? []).flatMap((m) => m.inputs ?? [])]
      : job.kind === 'compute'
        ? (job.inputs ?? [])
        : [];
  const seen = new Set<string>();
  const out: LocalityKey[] = [];
  for (const f of list) {
    if (seen.has(f.url)) continue;
    seen.add(f.url);
    out.push({ url: f.url, lfn: f.lfn, size: f.size ?? 0 });
  }
  return out;
}

/** The first defined value among the job and (for clusters) its members. */
function platformField(job: PlannedJob, field: 'arch' | 'os'): string | undefined {
  const own = job.executable?.[field] ?? job.profiles?.['aloft']?.[field];
  if (own !== undefined && own.trim() !== '') return own;
  for (const m of job.members ?? []) {
    const v = platformField(m, field);
    if (v !== undefined) return v;
  }
  return undefined;
}

function selectorOf(job: PlannedJob, problems: Problem[]): SelectorClause[] {
  const texts: string[] = [];
  const own = job.profiles?.['aloft']?.['selector'];
  if (own !== undefined) texts.push(own);
  else
    for (const m of job.members ?? []) {
      const t = m.profiles?.['aloft']?.['selector'];
      if (t !== undefined && !texts.includes(t)) texts.push(t);
    }
  const clauses: SelectorClause[] = [];
  for (const text of texts) {
    try {
      for (const c of parseSelector(text, `job ${job.id}: profile aloft.selector`)) {
        if (!clauses.some((d) => d.text === c.text)) clauses.push(c);
      }
    } catch (e) {
      if (e instanceof AloftError) problems.push(...e.problems);
      else throw e;
    }
  }
  return clauses;
}

/**
 * The requirements of one job. Throws AloftError INVALID_ARGUMENT listing every problem
 * (a bad selector clause, a negative resource) with the job id and the clause.
 */
export function requirementsOf(job: PlannedJob): Requirements {
  const problems: Problem[] = [];
  const r = job.resources;
  for (const [name, value] of [
    ['cores', r.cores],
    ['memoryMb', r.memoryMb],
    ['diskMb', r.diskMb],
    ['gpus', r.gpus],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      problems.push({
        where: `job ${job.id}: resources.${name}`,
        message: `must be a non-negative number, got ${value}`,
      });
    }
  }
  const selector = selectorOf(job, problems);
  if (problems.length > 0) throw AloftError.invalid(problems);
  const arch = platformField(job, 'arch');
  const os = platformField(job, 'os');
  const req: Requirements = {
    job: job.id,
    cores: r.cores,
    memoryMb: r.memoryMb,
    diskMb: diskOf(job),
    gpus: r.gpus,
    site: job.site,
    executors: executorsOf(job),
    selector,
    inputs: inputsOf(job),
  };
  if (arch !== undefined) req.arch = normalizeArch(arch);
  if (os !== undefined) req.os = normalizeOs(os);
  return req;
}

/**
 * Requirements that do not change while an agent runs work (everything but free
 * resources), as one string: jobs with the same signature have the same candidate agents.
 */
export function staticSignature(req: Requirements): string {
  return [
    req.site,
    req.executors.join(','),
    req.arch ?? '',
    req.os ?? '',
    req.selector.map((c) => c.text).join(','),
  ].join('\u0000');
}
