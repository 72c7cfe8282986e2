/**
 * Resource usage of a running container from the daemon's stats stream (the container's
 * cgroup, as `docker stats` shows it). The daemon samples about once a second and the
 * cgroup is gone once the container has exited, so:
 *  - maxRssKb: the largest memory peak seen (cgroup v1 `max_usage`, a true high-water mark
 *    up to the last sample; cgroup v2 has no peak in the API, so the largest `usage` seen);
 *  - utimeMs/stimeMs: cumulative user/kernel CPU time at the last sample (cgroup v1
 *    cpuacct.stat / v2 cpu.stat); when the daemon gives no split, the total is in utimeMs.
 * Usage after the last sample (at most ~1 s) is not seen; a job that ends before the first
 * sample reports zeros. Everything is best effort: a failing stats stream yields zeros.
 */
import type { Readable } from 'node:stream';

export interface ContainerUsage {
  utimeMs: number;
  stimeMs: number;
  maxRssKb: number;
}

interface StatsSample {
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; usage_in_usermode?: number; usage_in_kernelmode?: number };
  };
  memory_stats?: { max_usage?: number; usage?: number };
}

export interface UsageSampler {
  /** Stops sampling and returns what was seen. */
  stop(): ContainerUsage;
}

export function sampleContainerUsage(stream: Readable): UsageSampler {
  const usage: ContainerUsage = { utimeMs: 0, stimeMs: 0, maxRssKb: 0 };
  let text = '';
  const onSample = (s: StatsSample): void => {
    const cpu = s.cpu_stats?.cpu_usage;
    const total = cpu?.total_usage ?? 0;
    if (total > 0) {
      const user = cpu?.usage_in_usermode ?? 0;
      const kernel = cpu?.usage_in_kernelmode ?? 0;
      // ns → ms
      if (user + kernel > 0) {
        usage.utimeMs = user / 1e6;
        usage.stimeMs = kernel / 1e6;
      } else {
        usage.utimeMs = total / 1e6;
        usage.stimeMs = 0;
      }
    }
    const mem = s.memory_stats?.max_usage ?? s.memory_stats?.usage ?? 0;
    usage.maxRssKb = Math.max(usage.maxRssKb, Math.floor(mem / 1024));
  };
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    text += d;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      const line = text.slice(0, nl).trim();
      text = text.slice(nl + 1);
      if (line === '') continue;
      try {
        onSample(JSON.parse(line) as StatsSample);
      } catch {
        // a garbled sample is skipped: usage is best effort
      }
    }
  });
  stream.on('error', () => {
    // the container went away under the stream: keep what was seen
  });
  return {
    stop(): ContainerUsage {
      stream.destroy();
      return { ...usage };
    },
  };
}
