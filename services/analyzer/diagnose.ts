/**
 * From a failed attempt to a plain-language CAUSE and NEXT STEP (what pegasus-analyzer
 * leaves to the user to work out). Pure: the inputs are the failure classification the
 * agent reported, its invocation record and the planned job. Rules go from the most
 * specific evidence (an errno, a signal, a missing declared file) to the most general
 * (the failure message itself), so every failure gets some cause and some next step.
 */
import type { Failure, InvocationRecord } from '../../proto/attempt.js';
import type { PlannedJob } from '../../proto/plan.js';

export interface Diagnosis {
  cause: string;
  nextStep: string;
}

export interface DiagnoseInput {
  failure?: Failure;
  record?: InvocationRecord;
  job?: PlannedJob;
  transformation: string;
  /** Where the attempt ran, from attempt_started when the record lacks it. */
  agent?: string;
  site?: string;
}

/** A SIGKILL with at least this RSS (or ≥ 90% of the requested memory) suggests OOM. */
const OOM_RSS_MB = 1024;

const CRASH_SIGNALS: Record<string, string> = {
  SIGSEGV: 'segmentation fault',
  SIGBUS: 'bus error',
  SIGILL: 'illegal instruction',
  SIGFPE: 'arithmetic error',
};

const STDERR_HINTS: { re: RegExp; cause: string; next: string }[] = [
  {
    re: /no such file or directory|cannot open|can't open|not found: .*\.\w+|FileNotFoundError/i,
    cause: 'it could not find a file it tried to open',
    next:
      'check that every file it reads is declared in its uses (so aloft stages it into the ' +
      'working directory) and that its arguments name those files exactly',
  },
  {
    re: /permission denied|EACCES|PermissionError/i,
    cause: 'it was denied permission to a file or directory',
    next: 'check file permissions, and that it writes only inside its working directory',
  },
  {
    re: /no space left on device|ENOSPC|disk quota exceeded/i,
    cause: 'the disk filled up while it ran',
    next: "free space on the agent's disk or run it on a site with more (pegasus.diskspace)",
  },
  {
    re: /out of memory|cannot allocate memory|MemoryError|std::bad_alloc|ENOMEM/i,
    cause: 'it ran out of memory',
    next: 'request more memory (pegasus.memory profile) or run it on a bigger agent',
  },
  {
    re: /command not found|not recognized as an internal/i,
    cause: 'a command it runs was not found',
    next: 'install that command on the agent, or fix the PATH the job uses (env profile)',
  },
];

export function diagnose(d: DiagnoseInput): Diagnosis {
  const f = d.failure;
  const r = d.record;
  const agent = r?.agent || d.agent || 'the agent';
  const site = r?.site || d.site || d.job?.site || '?';
  const where = `on agent ${agent} (site ${site})`;
  const tr = d.transformation;
  const pfn = d.job?.executable?.pfn ?? r?.argv[0] ?? '(unknown executable)';
  const missing = f?.missingFiles ?? [];
  const msg = f?.message ?? '';
  const code = f?.code ?? '';
  const exit = r?.exitCode ?? null;
  const signal = r?.signal ?? null;

  if (f?.kind === 'cancelled') {
    return {
      cause: `the attempt was stopped on request (Ctrl-C, halt or remove), not by a fault of the job${msg ? `: ${msg}` : ''}`,
      nextStep: "run the same 'aloft run' command again to resume",
    };
  }

  if (f?.kind === 'timeout') {
    const limit = d.job?.profiles?.['pegasus']?.['maxwalltime'];
    const ran = r ? ` after ${seconds(r.durationMs)}` : '';
    return {
      cause: `the job exceeded its runtime limit${limit ? ` of ${limit} min (pegasus.maxwalltime)` : ''} and was stopped${ran}`,
      nextStep:
        'if it needs longer, raise pegasus.maxwalltime for this job or transformation; ' +
        'otherwise check its stdout/stderr for why it was slow or stuck',
    };
  }

  // The executable could not be started at all (the agent reports an exec errno as an
  // infrastructure failure; staging errors carry errnos too, so those are excluded).
  const infra = f?.kind === 'infrastructure';
  const staging = /stage-(in|out)|transfer/i.test(msg);
  const execMissing =
    infra &&
    ((code === 'ENOENT' && !staging) || /executable .*not found/i.test(msg) || exit === 127);
  if (execMissing) {
    return {
      cause: `the executable ${pfn} does not exist ${where}`,
      nextStep: `check the transformation catalog pfn of ${tr} for site ${site} (an absolute path on that machine), or install the program there`,
    };
  }
  const execDenied =
    infra && (((code === 'EACCES' || code === 'ENOEXEC') && !staging) || exit === 126);
  if (execDenied) {
    return {
      cause: `the executable ${pfn} could not be executed ${where} (${code || 'exit 126'}: not executable or not a program)`,
      nextStep: `make it executable (chmod +x) or point the transformation catalog pfn of ${tr} at the program itself`,
    };
  }

  if (f?.kind === 'infrastructure') {
    if (code === 'ENOSPC' || code === 'EDQUOT' || /no space left|disk full|quota/i.test(msg)) {
      return {
        cause: `${agent} ran out of disk space (${code || 'ENOSPC'}) while running the job`,
        nextStep:
          "free space in the agent's work directory and cache, or run on a site with more disk (pegasus.diskspace)",
      };
    }
    return {
      cause: `an infrastructure failure ${where}, not a fault of the job: ${msg || 'no details'}`,
      nextStep: `run the same 'aloft run' command again to resume; if it repeats, check ${agent}'s log, disk and network`,
    };
  }

  if (f?.kind === 'data') {
    if (/checksum|sha-?256|digest|mismatch/i.test(msg)) {
      return {
        cause: `an input failed its checksum check: ${msg}`,
        nextStep:
          "the replica is corrupt or the replica catalog's checksum is out of date: fix the file, or the checksum in the replica catalog",
      };
    }
    if (missing.length > 0) {
      const located = missing.slice(0, 3).map((lfn) => {
        const url = inputUrls(d.job, lfn);
        return url.length > 0
          ? `${lfn} was not found at ${url.join(' or ')}`
          : `${lfn} was not found`;
      });
      const more = missing.length > 3 ? ` (and ${missing.length - 3} more)` : '';
      return {
        cause: `input ${located.join('; ')}${more}`,
        nextStep: `check the replica catalog entry for ${missing[0]} (its pfn and site) and that the file exists there`,
      };
    }
    return {
      cause: `a data failure: ${msg || 'an input could not be read'}`,
      nextStep:
        'check the replica catalog entries of its inputs and that the files exist and are readable',
    };
  }

  // application (or unclassified): the job's own program.
  const outList = missing.slice(0, 3).join(', ') + (missing.length > 3 ? ', ...' : '');
  if (missing.length > 0 && (exit === 0 || (exit === null && signal === null))) {
    return {
      cause: `the job exited 0 but did not write ${outList}`,
      nextStep:
        'check its arguments and working directory: it must write each declared output under its ' +
        'file name in the directory it starts in (cwd above)',
    };
  }

  if (signal) {
    const rssMb = r ? r.maxRssKb / 1024 : 0;
    const wantMb = d.job?.resources?.memoryMb ?? 0;
    if (signal === 'SIGKILL') {
      const likelyOom = rssMb >= OOM_RSS_MB || (wantMb > 0 && rssMb >= 0.9 * wantMb);
      const rss = `max RSS ${mb(rssMb)}${wantMb > 0 ? ` of ${wantMb} MB requested` : ''}`;
      return likelyOom
        ? {
            cause: `killed by SIGKILL (possibly out of memory: ${rss})`,
            nextStep:
              'request more memory (pegasus.memory) or run it on a bigger agent; the kernel log (dmesg) names the OOM killer if it was that',
          }
        : {
            cause: `killed by SIGKILL (${rss}): by the OOM killer, an operator or a limit`,
            nextStep: `check dmesg and ${agent}'s log for who killed it, then run the same 'aloft run' command again to resume`,
          };
    }
    const crash = CRASH_SIGNALS[signal];
    if (crash) {
      return {
        cause: `${tr} crashed with ${signal} (${crash}): a bug in the program or an input it could not handle`,
        nextStep: 'reproduce it by running the command line above in its cwd; check its inputs',
      };
    }
    if (signal === 'SIGABRT') {
      return {
        cause: `${tr} aborted (SIGABRT), usually a failed assertion or a fatal error it reported on stderr`,
        nextStep: 'read the stderr tail above; reproduce it with the command line in its cwd',
      };
    }
    return {
      cause: `killed by ${signal} from outside the job (an operator, a limit or a shutdown)`,
      nextStep: `run the same 'aloft run' command again to resume; check ${agent}'s log if you did not stop it`,
    };
  }

  if (exit === 127) {
    return {
      cause: `exit 127: ${tr} (or a command it runs) was not found${stderrQuote(r)}`,
      nextStep: `check the transformation catalog pfn of ${tr} and the programs it calls on ${agent}`,
    };
  }
  if (exit === 126) {
    return {
      cause: `exit 126: ${tr} (or a command it runs) is not executable${stderrQuote(r)}`,
      nextStep: 'make the program executable (chmod +x) or fix the path it is called by',
    };
  }

  if (exit !== null && exit !== 0) {
    const tail = r?.stderrTail ?? '';
    const hint = STDERR_HINTS.find((h) => h.re.test(tail));
    const notWritten = missing.length > 0 ? `, and did not write ${outList}` : '';
    const absent = hint === STDERR_HINTS[0] ? missingPath(tail) : undefined;
    if (absent) {
      const abs = absent.startsWith('/');
      return {
        cause:
          `${tr} exited with code ${exit}: it could not find ` +
          (abs ? `${absent} on agent ${agent}` : `${absent} in its working directory`) +
          `${stderrQuote(r, hint!.re)}${notWritten}`,
        nextStep: abs
          ? `make sure ${absent} exists on agent ${agent} (site ${site}), or declare it as an input file (replica catalog + uses) so aloft stages it`
          : `declare ${absent} as an input in the job's uses (so aloft stages it into the working directory), or fix the argument that names it`,
      };
    }
    if (hint) {
      return {
        cause: `${tr} exited with code ${exit}: ${hint.cause}${stderrQuote(r, hint.re)}${notWritten}`,
        nextStep: hint.next,
      };
    }
    return {
      cause: `${tr} exited with code ${exit}${stderrQuote(r)}${notWritten}`,
      nextStep:
        tail.trim() === ''
          ? 'it printed nothing on stderr: reproduce it by running the command line above in its cwd'
          : 'read the stderr tail above; reproduce it by running the command line above in its cwd',
    };
  }

  return {
    cause: msg || 'the attempt failed without details',
    nextStep:
      "run the same 'aloft run' command again to resume; if it fails again, reproduce it by hand",
  };
}

/**
 * The path a "No such file or directory" line names, as tools print it: `ls: cannot access
 * '/x'`, `cat: x: No such file…`, Python's `…: 'x'`, `can't open file 'x'`.
 */
function missingPath(stderr: string): string | undefined {
  const lines = stderr.split('\n').reverse();
  const line = lines.find((l) => /no such file or directory|cannot open|can't open/i.test(l));
  if (!line) return undefined;
  const quoted = /['"‘“]([^'"’”]+)['"’”]/.exec(line)?.[1];
  const before = /(?:^|:\s)([^\s:'"]+):\s*no such file or directory/i.exec(line)?.[1];
  const verb = /\b(?:access|open|stat|read|find)\s+([^\s:'"]+)/i.exec(line)?.[1];
  const p = (quoted ?? before ?? verb)?.trim();
  return p && p.length <= 200 && !/\s/.test(p) ? p : undefined;
}

/** Where the job expected an input: its fetch URL, or a transfer's candidate sources. */
function inputUrls(job: PlannedJob | undefined, lfn: string): string[] {
  if (!job) return [];
  const urls: string[] = [];
  for (const i of job.inputs ?? []) if (i.lfn === lfn) urls.push(i.url);
  for (const t of job.transfers ?? []) if (t.lfn === lfn) urls.push(...t.sources.map((s) => s.url));
  for (const m of job.members ?? []) urls.push(...inputUrls(m, lfn));
  return [...new Set(urls)];
}

/** ` (stderr: "…")` with the most telling stderr line: one matching `re`, else the last. */
function stderrQuote(r: InvocationRecord | undefined, re?: RegExp): string {
  const lines = (r?.stderrTail ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) return '';
  const line = (re && [...lines].reverse().find((l) => re.test(l))) || lines[lines.length - 1]!;
  const short = line.length > 160 ? `${line.slice(0, 157)}...` : line;
  return ` (stderr: "${short}")`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)} s`;
}

function mb(v: number): string {
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} MB`;
}
