/**
 * Name rules for everything in a workflow that later becomes a path, an object key or a
 * NATS subject token (DESIGN §8): job ids, logical file names (lfns), site, transformation,
 * container and workflow names. One place, used by every reader, the authoring API, the
 * planner and the agents' staging code, so a name accepted at submit time is safe
 * everywhere downstream.
 *
 * Contract: every `validate*` returns `undefined` for a good name, otherwise one sentence
 * saying what is wrong (without the name's role prefix, so callers can put it in a Problem
 * whose `where` already names the key). `assert*` throw AloftError INVALID_ARGUMENT.
 * `sanitize*` map an arbitrary string onto a valid name deterministically (importers of
 * foreign formats use them; uniqueness is the caller's job).
 */
import { AloftError } from '../../lib/errors/index.js';

/** Job ids: Pegasus' nodeIdString (`^[\-0-9a-zA-Z\_]+$`), bounded. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
export const MAX_JOB_ID_LENGTH = 200;

/** Site, transformation, namespace, container and workflow names. */
export const SAFE_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const MAX_NAME_LENGTH = 200;

export const MAX_LFN_LENGTH = 1024;

// Character classes by char code (< 128) for the checks that run once per job and per
// name of a workflow: a table lookup per character is cheaper than a regular expression
// test on the short strings ids and names are.
const JOB_ID_CHAR = new Uint8Array(128);
const SAFE_NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (JOB_ID_PATTERN.test(ch)) JOB_ID_CHAR[c] = 1;
  if (SAFE_NAME_PATTERN.test(ch)) SAFE_NAME_CHAR[c] = 1;
}

function allOf(table: Uint8Array, s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || table[c] === 0) return false;
  }
  return true;
}

/** Is `id` a valid job id (what validateJobId accepts)? The hot-path form of that check. */
export function isJobId(id: string): boolean {
  return id.length <= MAX_JOB_ID_LENGTH && allOf(JOB_ID_CHAR, id);
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

/** A job id: letters, digits, `_` and `-`, 1–200 characters. */
export function validateJobId(id: unknown): string | undefined {
  if (typeof id !== 'string') return `must be a string, not ${describeType(id)}`;
  if (id.length === 0) return 'is empty';
  if (id.length > MAX_JOB_ID_LENGTH)
    return `is ${id.length} characters long; the limit is ${MAX_JOB_ID_LENGTH}`;
  if (!allOf(JOB_ID_CHAR, id)) return `${quote(id)} may contain only letters, digits, '_' and '-'`;
  return undefined;
}

/**
 * A logical file name: a relative path of `/`-separated segments; not empty, no leading
 * `/`, no empty, `.` or `..` segment (so it can never escape the directory or bucket prefix
 * it is placed under, and one file has one name), no `\`, no NUL or other control
 * characters (C0, DEL, C1: a newline in a name would break every line-oriented log and
 * listing), at most 1024 characters.
 */
export function validateLfn(lfn: unknown): string | undefined {
  if (typeof lfn !== 'string') return `must be a string, not ${describeType(lfn)}`;
  const n = lfn.length;
  if (n === 0) return 'is empty';
  if (n > MAX_LFN_LENGTH) return `is ${n} characters long; the limit is ${MAX_LFN_LENGTH}`;
  // One pass over the characters (this runs for every file of every job of a large
  // workflow): control characters, backslashes and the segment rules.
  let segStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? lfn.charCodeAt(i) : 0x2f; // a virtual '/' closes the last segment
    if (c === 0x2f) {
      const len = i - segStart;
      if (len === 0)
        return segStart === 0
          ? `${quote(lfn)} is an absolute path; a logical file name must be relative`
          : `${quote(lfn)} has an empty path segment ('//' or a trailing '/')`;
      if (len <= 2 && lfn.charCodeAt(segStart) === 0x2e) {
        if (len === 1) return `${quote(lfn)} has a '.' segment; write the name without it`;
        if (lfn.charCodeAt(segStart + 1) === 0x2e)
          return `${quote(lfn)} has a '..' segment, which would escape the storage directory`;
      }
      segStart = i + 1;
    } else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      return c === 0
        ? `${quote(lfn)} contains a NUL character`
        : `${quote(lfn)} contains a control character`;
    } else if (c === 0x5c) {
      return `${quote(lfn)} contains '\\'; logical file names use '/' between directories`;
    }
  }
  return undefined;
}

/** A name safe as one path segment: `[A-Za-z0-9_.-]`, not `.` or `..`, 1–200 characters. */
export function validateSafeName(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, not ${describeType(name)}`;
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_NAME_LENGTH)
    return `is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`;
  if (name === '.' || name === '..') return `${quote(name)} is not a name`;
  if (!allOf(SAFE_NAME_CHAR, name))
    return `${quote(name)} may contain only letters, digits, '_', '.' and '-'`;
  return undefined;
}

/** Site names (`local`, `condorpool`, `edge-radar-1`). */
export const validateSiteName = validateSafeName;
/** Transformation names, namespaces and versions (`preprocess`, `diamond`, `4.0`). */
export const validateTransformationName = validateSafeName;
/** Container names in a transformation catalog. */
export const validateContainerName = validateSafeName;
/** Workflow names (they name run directories). */
export const validateWorkflowName = validateSafeName;

/** What each kind of name is called in messages, and its validator. */
export type NameKind =
  | 'job id'
  | 'lfn'
  | 'site name'
  | 'transformation name'
  | 'container name'
  | 'workflow name'
  | 'name';

const VALIDATORS: Record<NameKind, (v: unknown) => string | undefined> = {
  'job id': validateJobId,
  lfn: validateLfn,
  'site name': validateSiteName,
  'transformation name': validateTransformationName,
  'container name': validateContainerName,
  'workflow name': validateWorkflowName,
  name: validateSafeName,
};

const HINTS: Record<NameKind, string> = {
  'job id': "use letters, digits, '_' and '-' only, e.g. ID0000001",
  lfn: "use a relative name such as 'data/f.a', without '..', '\\' or a leading '/'",
  'site name': "use letters, digits, '_', '.' and '-' only, e.g. local or edge-radar-1",
  'transformation name': "use letters, digits, '_', '.' and '-' only, e.g. preprocess",
  'container name': "use letters, digits, '_', '.' and '-' only",
  'workflow name': "use letters, digits, '_', '.' and '-' only, e.g. diamond",
  name: "use letters, digits, '_', '.' and '-' only",
};

/** Validate a name of the given kind: `undefined` when fine, else the full sentence. */
export function validateName(kind: NameKind, value: unknown): string | undefined {
  const bad = VALIDATORS[kind](value);
  return bad === undefined ? undefined : `${kind} ${bad}`;
}

/** The fix to suggest for a bad name of this kind. */
export function nameHint(kind: NameKind): string {
  return HINTS[kind];
}

/**
 * Throw AloftError INVALID_ARGUMENT unless `value` is a valid name of `kind`. `where` says
 * where the name came from (defaults to the kind).
 */
export function assertSafeName(
  value: unknown,
  kind: NameKind = 'name',
  where: string = kind,
): string {
  const bad = validateName(kind, value);
  if (bad !== undefined) throw AloftError.invalid({ where, message: bad, hint: HINTS[kind] });
  return value as string;
}

export function assertJobId(id: unknown, where = 'job id'): string {
  return assertSafeName(id, 'job id', where);
}

export function assertLfn(lfn: unknown, where = 'lfn'): string {
  return assertSafeName(lfn, 'lfn', where);
}

export function assertSiteName(name: unknown, where = 'site name'): string {
  return assertSafeName(name, 'site name', where);
}

/**
 * Map any string onto a valid job id: characters outside `[A-Za-z0-9_-]` become `_`, empty
 * becomes `_`, over-long ids keep their first 200 characters. Deterministic; not injective
 * (`a.b` and `a_b` collide) — callers that need uniqueness add a suffix.
 */
export function sanitizeJobId(raw: string): string {
  const s = raw.replace(/[^A-Za-z0-9_-]/g, '_');
  return (s.length === 0 ? '_' : s).slice(0, MAX_JOB_ID_LENGTH);
}

/** Map any string onto a valid safe name (`[A-Za-z0-9_.-]`, not `.`/`..`). */
export function sanitizeName(raw: string): string {
  let s = raw.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, MAX_NAME_LENGTH);
  if (s === '' || s === '.' || s === '..') s = s.replace(/\./g, '_') || '_';
  return s;
}

/**
 * Map any string onto a valid lfn: a valid lfn is returned unchanged; otherwise every
 * character outside `[A-Za-z0-9_.-]` (including `/`) becomes `_`, which flattens the path
 * into one segment, and a result of only dots becomes underscores.
 */
export function sanitizeLfn(raw: string): string {
  if (validateLfn(raw) === undefined) return raw;
  let s = raw.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, MAX_LFN_LENGTH);
  if (/^\.*$/.test(s)) s = '_'.repeat(Math.max(1, s.length));
  return s;
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `a ${typeof v}`;
}
