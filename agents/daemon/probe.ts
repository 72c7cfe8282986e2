/**
 * The system probe: what this host offers, for the agent's ad. Cores, memory, GPUs, arch
 * and OS come from `systeminformation` (once at start: they do not change while the
 * process lives); free disk of the work directory's filesystem comes from statfs(2) on
 * that directory — exact for the filesystem holding the path, cheap enough to read on
 * every heartbeat (systeminformation's fsSize runs `df` and lists every mount).
 */
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import si from 'systeminformation';
import type { AgentAd } from '../../proto/index.js';

export interface SystemFacts {
  cores: number;
  memoryMb: number;
  gpus: number;
  /** Pegasus names: x86_64, aarch64, ppc64le, ... */
  arch: string;
  /** Pegasus names: linux, macosx, windows. */
  os: string;
}

export interface DiskFacts {
  freeMb: number;
  totalMb: number;
}

/** A controller counts as a GPU when it has at least this much VRAM: virtual and BMC
 *  display adapters report a few MB and must not attract GPU jobs. */
const GPU_MIN_VRAM_MB = 512;

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ppc64: 'ppc64le' };
const OS: Record<string, string> = { darwin: 'macosx', win32: 'windows' };

export async function probeSystem(signal?: AbortSignal): Promise<SystemFacts> {
  signal?.throwIfAborted();
  const [cpu, mem, graphics] = await Promise.all([si.cpu(), si.mem(), si.graphics()]);
  signal?.throwIfAborted();
  const gpus = graphics.controllers.filter((c) => (c.vram ?? 0) >= GPU_MIN_VRAM_MB).length;
  const arch = os.arch();
  const platform = os.platform();
  return {
    // cpu.cores counts logical CPUs of the host; the process may be limited to fewer.
    cores: Math.min(cpu.cores > 0 ? cpu.cores : Infinity, os.availableParallelism()),
    memoryMb: Math.floor(mem.total / (1024 * 1024)),
    gpus,
    arch: ARCH[arch] ?? arch,
    os: OS[platform] ?? platform,
  };
}

/** Free and total space of the filesystem holding `dir` (for the current user). */
export async function probeDisk(dir: string, signal?: AbortSignal): Promise<DiskFacts> {
  signal?.throwIfAborted();
  const s = await statfs(dir);
  const mb = (blocks: number): number => Math.floor((blocks * s.bsize) / (1024 * 1024));
  return { freeMb: mb(s.bavail), totalMb: mb(s.blocks) };
}

/** Below this share of free disk the agent re-advertises (and again when back above). */
export const LOW_DISK_FRACTION = 0.1;

export const diskLow = (d: DiskFacts): boolean =>
  d.totalMb > 0 && d.freeMb / d.totalMb < LOW_DISK_FRACTION;

/** The ad fields the probe measures (the agent adds id, site, slots, executors, labels). */
export function adFields(sys: SystemFacts, disk: DiskFacts, gpus?: number): Partial<AgentAd> {
  return {
    cores: sys.cores,
    memoryMb: sys.memoryMb,
    diskFreeMb: disk.freeMb,
    gpus: gpus ?? sys.gpus,
    arch: sys.arch,
    os: sys.os,
  };
}
