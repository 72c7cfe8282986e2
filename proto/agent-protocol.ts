/**
 * Messages between the scheduler (engine + broker) and agents. The embedded mode sends
 * them over the in-process transport; issue 3 carries the same shapes over NATS as protobuf.
 *
 * Flow for one attempt:
 *   scheduler --Offer--> agent            (agent subject `offer`)
 *   agent --OfferReply(accept|reject)-->  (reply to the offer request)
 *   agent --AttemptStartedMsg-->          (scheduler subject `attempt.started`)
 *   agent --AttemptResultMsg-->           (scheduler subject `attempt.result`), retransmitted
 *   scheduler --ResultAck-->              (agent subject `ack`) until acked
 *   scheduler --KillMsg-->                (agent subject `kill`) to stop an attempt
 * Every message about an attempt carries its AttemptKey (job, attempt, epoch); a message
 * whose key does not match the scheduler's current attempt is stale and ignored (fencing).
 */
import type { AttemptKey, AttemptOutcome } from './attempt.js';
import type { PlannedJob } from './plan.js';

export interface AgentAd {
  agent: string;
  site: string;
  /** Sites this agent serves besides `site` (the embedded agent serves every site). */
  sites: string[];
  host: string;
  slots: number;
  cores: number;
  memoryMb: number;
  diskFreeMb: number;
  executors: string[];
  labels: Record<string, string>;
  /** CPU architecture (Pegasus names: x86_64, aarch64, ppc64le; Node's x64/arm64 accepted). */
  arch?: string;
  /** Operating system (Pegasus names: linux, macosx, windows; Node's darwin/win32 accepted). */
  os?: string;
  /** GPUs the agent offers (absent = 0). */
  gpus?: number;
  /** `draining`: the agent is shutting down and takes no new offers (absent = ready). */
  state?: 'ready' | 'draining';
  /** What its input cache holds (absent = the agent has no cache). */
  cache?: CacheSummary;
  /**
   * Attempts it accepts beyond `slots` and queues, starting them in order as slots free
   * (absent = 0). The broker may place that many more on it, each fitting the agent's
   * whole capacity; see services/scheduler/agent-registry.ts.
   */
  prefetch?: number;
}

/** One input an agent holds in its cache, as its ad lists it. */
export interface CachedInput {
  /** URLs it was fetched under, credentials removed, newest first (a few at most). */
  urls: string[];
  bytes: number;
  /** Hex sha256 of its content. */
  sha256?: string;
}

/**
 * A bounded summary of an agent's input cache, for data-locality ranking: totals plus the
 * largest entries only (a full list of 10k entries would not fit an ad; locality credit is
 * by bytes, so the largest entries carry nearly all of it). The scheduler replaces what
 * it knows of the agent's cache with each ad's summary.
 */
export interface CacheSummary {
  entries: number;
  bytes: number;
  budgetBytes: number;
  /** The largest entries, largest first (at most the agent's summary limit). */
  largest: CachedInput[];
}

export interface Offer {
  key: AttemptKey;
  runId: string;
  job: PlannedJob;
}

export type OfferReply = { accepted: true } | { accepted: false; reason: string };

export interface AttemptStartedMsg {
  key: AttemptKey;
  agent: string;
  site: string;
  host: string;
  /**
   * Set when the agent re-sends this message while a job that moves many files (a transfer
   * job) runs: how far it got. Sent at most every few seconds, only when it changed.
   */
  progress?: TransferProgress;
}

/** Files and bytes a transfer job has moved, of its total (bytes: whole files). */
export interface TransferProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface AttemptResultMsg {
  key: AttemptKey;
  agent: string;
  outcome: AttemptOutcome;
}

export interface ResultAck {
  key: AttemptKey;
}

/** Scheduler -> agent: publish your ad now (the scheduler has none, e.g. after a restart). */
export interface AdvertiseRequestMsg {
  reason: string;
}

export interface KillMsg {
  key: AttemptKey;
  reason: string;
}
