/**
 * A WfCommons trace handed to the scheduler (`aloft submit TRACE`) is replayed the way
 * `aloft replay` replays it, on the scheduler's agents instead of an embedded one:
 * - the workflow is shaped for replay (final products staged out, nothing registered, the
 *   scales as `aloft` profiles the synthetic executor reads; see prepare-replay.ts);
 * - unless a transformation catalog was given, every job name is a synthetic transformation
 *   installed on each requested compute site (default `local`), so the planner spreads the
 *   jobs over those sites;
 * - unless a replica catalog was given, the trace's root inputs are generated (recorded size
 *   × size scale, deterministic content) under `inputsDir` on this host and replicated from
 *   there (site `local`, a `file://` URL the agents of this host read).
 * A trace is recognised by the metadata the WfFormat importer sets (`wf.schemaVersion`).
 */
import { pathToFileURL } from 'node:url';
import type { LoadedWorkflow } from '../model/index.js';
import { generateInputs } from './generate-inputs.js';
import { prepareReplayWorkflow, type ReplayScales } from './prepare-replay.js';
import { rootInputs, syntheticCatalogs } from './synthetic-catalogs.js';

/** `aloft replay`'s default scales: recorded runtimes × 0.001, file sizes × 0.0001. */
export const DEFAULT_REPLAY_SCALES: Readonly<ReplayScales> = Object.freeze({
  timeScale: 0.001,
  sizeScale: 0.0001,
});

/** Whether the workflow was imported from a WfCommons trace (WfFormat). */
export function isImportedTrace(loaded: LoadedWorkflow): boolean {
  return loaded.workflow.metadata['wf.schemaVersion'] !== undefined;
}

export interface TraceSubmissionOptions {
  /** Compute sites the synthetic transformations are installed on (empty = `local`). */
  sites: readonly string[];
  /** Where the root inputs are generated (kept and reused: same lfn and size, same bytes). */
  inputsDir: string;
  scales: ReplayScales;
  signal?: AbortSignal;
}

export interface TraceSubmission {
  loaded: LoadedWorkflow;
  /** Root input files generated or found in place (none when replicas were given). */
  inputs: { files: number; bytes: number };
}

/** The trace ready to plan on the scheduler's agents (see the module header). */
export async function prepareTraceSubmission(
  loaded: LoadedWorkflow,
  o: TraceSubmissionOptions,
): Promise<TraceSubmission> {
  const workflow = prepareReplayWorkflow(loaded.workflow, o.scales);
  const made = syntheticCatalogs(workflow, pathToFileURL(o.inputsDir).href + '/', o.sites);
  const out: LoadedWorkflow = { ...loaded, workflow };
  if (loaded.sources.transformations === undefined) out.transformations = made.transformations;
  let inputs = { files: 0, bytes: 0 };
  if (loaded.sources.replicas === undefined) {
    inputs = await generateInputs(rootInputs(workflow), o.inputsDir, o.scales.sizeScale, o.signal);
    out.replicas = made.replicas;
  }
  return { loaded: out, inputs };
}
