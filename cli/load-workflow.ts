/**
 * The workflow loader every planning command uses: a Pegasus 5 workflow (YAML, or JSON)
 * with its catalogs, or a WfCommons WfFormat trace (optionally gzipped) with catalogs made
 * up for it. Which one is decided by content: a JSON object that has `schemaVersion` and a
 * `workflow` with `specification`, `tasks` or `jobs` is a trace.
 */
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, constants as zlib } from 'node:zlib';
import { AloftError } from '../lib/errors/index.js';
import {
  importWfFormat,
  loadYamlFile,
  readWorkflow,
  replicaCatalogFromDocument,
  siteCatalogFromDocument,
  transformationCatalogFromDocument,
} from '../services/formats/index.js';
import type { LoadedWorkflow } from '../services/model/index.js';
import { syntheticCatalogs } from '../services/replay/index.js';
import type { CommandContext } from './command.js';
import { defaultStoreRoot, type CatalogPaths } from './plan-flags.js';

const HEAD_BYTES = 64 * 1024;

export interface LoadFlags extends CatalogPaths {
  /** Store root of the command (a trace's made-up input replicas live under `inputs/`). */
  storeRoot?: string;
}

type Kind = 'pegasus' | 'trace';

/** The path to open and the path to show in messages (as the user wrote it, when possible). */
function locate(file: string, cwd: string): { abs: string; shown: string } {
  const abs = path.resolve(cwd, file);
  const rel = path.relative(process.cwd(), abs);
  return { abs, shown: path.isAbsolute(file) || rel.startsWith('..') ? abs : rel || '.' };
}

/** The first bytes of a file as text, gunzipped (partially) when it is gzip. */
async function head(abs: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(abs, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
  try {
    if (!(await handle.stat()).isFile()) {
      throw AloftError.invalid({
        where: abs,
        message: 'is not a regular file',
        hint: 'give the path of a workflow file',
      });
    }
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
    let bytes = buf.subarray(0, bytesRead);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        // Only the start of the stream: decompress what is there without needing its end.
        bytes = gunzipSync(bytes, { finishFlush: zlib.Z_SYNC_FLUSH });
      } catch {
        return ''; // let the reader report the corrupt file
      }
    }
    return bytes.toString('utf8');
  } finally {
    await handle.close();
  }
}

function isTraceDocument(doc: unknown): boolean {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return false;
  const d = doc as Record<string, unknown>;
  const wf = d['workflow'];
  if (typeof wf !== 'object' || wf === null) return false;
  const w = wf as Record<string, unknown>;
  return 'specification' in w || (('tasks' in w || 'jobs' in w) && 'schemaVersion' in d);
}

async function detect(abs: string, text: string): Promise<Kind> {
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (!start.startsWith('{')) return 'pegasus';
  if (/"schemaVersion"\s*:/.test(start) && /"workflow"\s*:/.test(start)) {
    // Both keys seen early: decide from their shape when the head shows it.
    if (/"(specification|tasks|jobs)"\s*:/.test(start)) return 'trace';
  }
  if (/"pegasus"\s*:/.test(start) && !/"schemaVersion"\s*:/.test(start)) return 'pegasus';
  // Undecided from the first bytes: parse the whole document.
  let whole = await readFile(abs);
  if (whole[0] === 0x1f && whole[1] === 0x8b) whole = gunzipSync(whole);
  try {
    return isTraceDocument(JSON.parse(whole.toString('utf8'))) ? 'trace' : 'pegasus';
  } catch {
    return 'pegasus'; // the Pegasus reader reports what is wrong with it
  }
}

/**
 * Load WORKFLOW for a command. Missing file: NOT_FOUND (exit 2, "no such workflow file X").
 * Catalog paths are resolved against ctx.cwd.
 */
export async function loadWorkflowForCli(
  file: string,
  flags: LoadFlags,
  ctx: Pick<CommandContext, 'cwd' | 'env' | 'signal'>,
): Promise<LoadedWorkflow> {
  const { abs, shown } = locate(file, ctx.cwd);
  const text = await head(abs);
  if (text === undefined) {
    throw new AloftError('NOT_FOUND', `no such workflow file ${file}`, { retryable: false });
  }
  const catalogs = {
    replicas: flags.replicas === undefined ? undefined : locate(flags.replicas, ctx.cwd).shown,
    transformations:
      flags.transformations === undefined
        ? undefined
        : locate(flags.transformations, ctx.cwd).shown,
    sites: flags.sites === undefined ? undefined : locate(flags.sites, ctx.cwd).shown,
  };
  ctx.signal.throwIfAborted();

  if ((await detect(abs, text)) === 'pegasus') {
    return readWorkflow(shown, {
      ...(catalogs.replicas !== undefined ? { replicas: catalogs.replicas } : {}),
      ...(catalogs.transformations !== undefined
        ? { transformations: catalogs.transformations }
        : {}),
      ...(catalogs.sites !== undefined ? { sites: catalogs.sites } : {}),
      env: ctx.env,
      signal: ctx.signal,
    });
  }

  // A trace: made-up catalogs (a transformation per job name on `local`, a replica per
  // input no job produces under `${storeRoot}inputs/`), unless catalog files are given.
  const loaded = await importWfFormat(shown, { signal: ctx.signal });
  const storeRoot = flags.storeRoot ?? defaultStoreRoot(ctx.cwd);
  const made = syntheticCatalogs(
    loaded.workflow,
    `${storeRoot.endsWith('/') ? storeRoot : `${storeRoot}/`}inputs/`,
  );
  loaded.transformations = made.transformations;
  loaded.replicas = made.replicas;
  const read = async <T>(
    f: string,
    convert: (doc: unknown, source: string, env: NodeJS.ProcessEnv, warnings: string[]) => T,
  ): Promise<T> =>
    convert(await loadYamlFile(f, { signal: ctx.signal }), f, ctx.env, loaded.warnings);
  if (catalogs.replicas !== undefined) {
    loaded.replicas = await read(catalogs.replicas, replicaCatalogFromDocument);
    loaded.sources.replicas = catalogs.replicas;
  }
  if (catalogs.transformations !== undefined) {
    loaded.transformations = await read(
      catalogs.transformations,
      transformationCatalogFromDocument,
    );
    loaded.sources.transformations = catalogs.transformations;
  }
  if (catalogs.sites !== undefined) {
    loaded.sites = await read(catalogs.sites, siteCatalogFromDocument);
    loaded.sources.sites = catalogs.sites;
  }
  return loaded;
}
