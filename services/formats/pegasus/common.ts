/**
 * Pieces every Pegasus 5 document shares (common.yml in the schema): the `pegasus:` version,
 * profiles, metadata and checksums.
 */
import type { Checksum, Metadata, Profiles } from '../../model/types.js';
import {
  describe,
  setOwn,
  type DocReader,
  type Key,
  type KeyPath,
  type YamlMap,
} from './doc-reader.js';

/**
 * Profile namespaces: Pegasus' own (common.yml) plus `aloft`, where aloft's extensions live
 * so that a workflow stays valid Pegasus (DESIGN §4).
 */
export const PROFILE_NAMESPACES: ReadonlySet<string> = new Set([
  'env',
  'condor',
  'globus',
  'dagman',
  'pegasus',
  'hints',
  'selector',
  'aloft',
]);

/**
 * What a job, file use or catalog entry without `profiles:` / `metadata:` holds: one shared
 * object instead of one per entry (a 100k-job workflow has ~500k of them). Frozen, because
 * the model is data to read: a write into the shared object fails loudly instead of
 * changing every entry at once.
 */
export const EMPTY_PROFILES: Profiles = Object.freeze({}) as Profiles;
export const EMPTY_METADATA: Metadata = Object.freeze({}) as Metadata;

// An environment variable name cannot contain '=' or NUL; Pegasus' schema is stricter still.
const ENV_KEY = /^[A-Za-z0-9_.-]+$/;

/**
 * `profiles: {namespace: {key: value}}` at `at`/`key` (absent: EMPTY_PROFILES). Values are
 * scalars (kept as strings); `x-*` keys are dropped; an unknown namespace is dropped with a
 * warning (Pegasus would reject it).
 */
export function readProfiles(r: DocReader, v: unknown, at: KeyPath, key: Key): Profiles {
  if (v === undefined || v === null) return EMPTY_PROFILES;
  const out: Profiles = {};
  const map = r.map(v, at, key, 'a map of profile namespaces (env, pegasus, condor, ...)');
  if (!map) return out;
  const here = at.child(key);
  for (const ns in map) {
    if (ns.startsWith('x-')) continue;
    if (!PROFILE_NAMESPACES.has(ns)) {
      r.warn(here, ns, `unknown profile namespace '${ns}', ignored`);
      continue;
    }
    const entries = r.map(map[ns], here, ns, `a map of ${ns} profile keys and values`);
    if (!entries) continue;
    const nsAt = here.key(ns);
    const values: Record<string, string> = {};
    for (const k in entries) {
      if (k.startsWith('x-')) continue;
      if (ns === 'env' && !ENV_KEY.test(k)) {
        r.problem(
          nsAt,
          k,
          `${JSON.stringify(k)} is not a valid environment variable name`,
          "use letters, digits, '_', '.' and '-' only",
        );
        continue;
      }
      const s = r.string(entries[k], nsAt, k);
      if (s !== undefined) setOwn(values, k, s);
    }
    out[ns] = values;
  }
  return out;
}

/**
 * `metadata: {key: value}` at `at`/`key` (absent: EMPTY_METADATA), scalar values kept as
 * strings; `x-*` dropped.
 */
export function readMetadata(r: DocReader, v: unknown, at: KeyPath, key: Key): Metadata {
  if (v === undefined || v === null) return EMPTY_METADATA;
  const out: Metadata = {};
  const map = r.map(v, at, key);
  if (!map) return out;
  let here: KeyPath | undefined;
  for (const k in map) {
    if (k.startsWith('x-')) continue;
    const value = map[k];
    if (value === null || value === undefined) continue;
    const s =
      typeof value === 'string' && !value.includes('${')
        ? value
        : r.string(value, (here ??= at.child(key)), k);
    if (s !== undefined) setOwn(out, k, s);
  }
  return out;
}

const SHA256 = /^[0-9a-fA-F]{64}$/;

/** `checksum: {sha256: <64 hex digits>}` — the only type Pegasus 5 defines. */
export function readChecksum(
  r: DocReader,
  v: unknown,
  at: KeyPath,
  key: Key,
): Checksum | undefined {
  const map = r.map(v, at, key, 'a map such as {sha256: <hex digest>}');
  if (!map) return undefined;
  const here = at.child(key);
  let out: Checksum | undefined;
  for (const k in map) {
    if (k.startsWith('x-')) continue;
    if (k !== 'sha256') {
      r.problem(here, k, `unsupported checksum type '${k}'`, 'use sha256: <64 hex digits>');
      continue;
    }
    const value = r.string(map[k], here, k);
    if (value === undefined) continue;
    if (!SHA256.test(value)) {
      r.problem(here, k, `${describe(value)} is not a sha256 digest (64 hex digits)`);
      continue;
    }
    out = { type: 'sha256', value: value.toLowerCase() };
  }
  return out;
}

// `5`, `5.0`, `5.0.4`: any 5.x; Pegasus 4 wrote XML (DAX 3) and there is no 6 yet.
const VERSION = /^(\d+)(\.\d+){0,2}$/;

/**
 * Check `pegasus: "5.0.x"`. `required` for workflow files; inline and standalone catalogs
 * may omit it (as Pegasus' own planner tolerates). Returns the version as written.
 */
export function readPegasusVersion(
  r: DocReader,
  obj: Record<string, unknown>,
  at: KeyPath,
  required: boolean,
): string | undefined {
  const v = obj['pegasus'];
  if (v === undefined || v === null) {
    if (required)
      r.problem(
        at,
        'pegasus',
        "missing required key 'pegasus' (the format version)",
        'add pegasus: "5.0.4" at the top of the file',
      );
    return undefined;
  }
  const s = r.string(v, at, 'pegasus');
  if (s === undefined) return undefined;
  const m = VERSION.exec(s.trim());
  if (!m) {
    r.problem(at, 'pegasus', `${describe(s)} is not a version number`, 'write pegasus: "5.0.4"');
    return undefined;
  }
  if (m[1] !== '5') {
    r.problem(
      at,
      'pegasus',
      `Pegasus format version ${s} is not supported; aloft reads Pegasus 5 YAML (5.0.x)`,
      m[1] !== undefined && Number(m[1]) < 5
        ? 'convert the workflow to Pegasus 5 YAML (pegasus-dax-converter / the 5.x Python API)'
        : 'write pegasus: "5.0.4"',
    );
    return undefined;
  }
  return s.trim();
}

/**
 * The top of a catalog (standalone file or inline in a workflow): empty → ignored with a
 * warning; inline `{$ref: URL}` → ignored with a warning (aloft does not fetch catalogs);
 * otherwise the map, with its `pegasus:` version checked when present (a standalone file
 * without one is read as 5.0, with a warning). `what` is e.g. 'site catalog'.
 */
export function readCatalogHeader(
  r: DocReader,
  v: unknown,
  at: KeyPath,
  standalone: boolean,
  what: string,
  listKey: string,
): YamlMap | undefined {
  if (v === null || v === undefined) {
    r.warn(at, undefined, `empty ${what}, ignored`);
    return undefined;
  }
  const doc = r.map(v, at, undefined, `a ${what} (a map with a ${listKey}: list)`);
  if (!doc) return undefined;
  if (!standalone && doc['$ref'] !== undefined) {
    const ref = r.string(doc['$ref'], at, '$ref');
    r.warn(
      at,
      undefined,
      `refers to ${ref === undefined ? `a remote ${what}` : JSON.stringify(ref)} ($ref), which aloft does not fetch; ignored — give a ${what} file instead`,
    );
    return undefined;
  }
  readPegasusVersion(r, doc, at, false);
  if (standalone && (doc['pegasus'] === undefined || doc['pegasus'] === null))
    r.warn(at, undefined, "no 'pegasus:' version key; read as Pegasus 5.0");
  return doc;
}
