/** Replica catalog authoring (Pegasus' Python API `ReplicaCatalog`): where inputs already are. */
import { AloftError } from '../../lib/errors/index.js';
import { assertLfn, assertSiteName } from '../model/names.js';
import { compact, scalarText, type ScalarValue } from './annotated.js';
import { File, type FileLike } from './file.js';
import { PEGASUS_VERSION } from './version.js';
import { writeYamlDocument } from './write-document.js';

export interface ReplicaOptions {
  checksum?: { sha256: string };
  metadata?: Record<string, ScalarValue>;
}

interface Entry {
  lfn: string;
  regex: boolean;
  pfns: { site: string; pfn: string }[];
  checksum?: { sha256: string };
  metadata: Record<string, string>;
}

export class ReplicaCatalog {
  private readonly entries: Entry[] = [];

  private entry(lfn: string, regex: boolean): Entry {
    let e = this.entries.find((x) => x.lfn === lfn && x.regex === regex);
    if (!e) {
      e = { lfn, regex, pfns: [], metadata: {} };
      this.entries.push(e);
    }
    return e;
  }

  private addLocation(e: Entry, site: string, pfn: string, opts: ReplicaOptions, where: string) {
    assertSiteName(site, `${where}: site`);
    if (typeof pfn !== 'string' || pfn === '')
      throw AloftError.invalid({ where, message: 'pfn is empty' });
    if (!e.pfns.some((p) => p.site === site && p.pfn === pfn)) e.pfns.push({ site, pfn });
    if (opts.checksum !== undefined) {
      if (!/^[0-9a-fA-F]{64}$/.test(opts.checksum.sha256))
        throw AloftError.invalid({ where, message: 'checksum.sha256 must be 64 hex digits' });
      e.checksum = { sha256: opts.checksum.sha256.toLowerCase() };
    }
    for (const [k, v] of Object.entries(opts.metadata ?? {}))
      e.metadata[k] = scalarText(v, `${where}: metadata.${k}`);
  }

  /**
   * The file `lfn` exists at `pfn` on `site`: `rc.addReplica('local', 'f.a',
   * 'file:///data/f.a')`. Several calls for one lfn add locations. A File's own metadata is
   * recorded too.
   */
  addReplica(site: string, lfn: FileLike, pfn: string, opts: ReplicaOptions = {}): this {
    const name = lfn instanceof File ? lfn.lfn : assertLfn(lfn, `ReplicaCatalog.addReplica`);
    const where = `ReplicaCatalog.addReplica(${JSON.stringify(name)})`;
    const e = this.entry(name, false);
    if (lfn instanceof File) Object.assign(e.metadata, lfn.metadata);
    this.addLocation(e, site, pfn, opts, where);
    return this;
  }

  /**
   * Every lfn matching `pattern` (a regular expression over the whole lfn) is at `pfn`,
   * which may refer to groups as `[0]`, `[1]`, ...
   */
  addRegexReplica(
    site: string,
    pattern: string,
    pfn: string,
    opts: Omit<ReplicaOptions, 'checksum'> = {},
  ): this {
    const where = `ReplicaCatalog.addRegexReplica(${JSON.stringify(pattern)})`;
    try {
      new RegExp(pattern);
    } catch (e) {
      throw AloftError.invalid({
        where,
        message: `bad regular expression: ${(e as Error).message}`,
      });
    }
    this.addLocation(this.entry(pattern, true), site, pfn, opts, where);
    return this;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The catalog as a Pegasus 5 document; `inline` leaves out the `pegasus:` key. */
  toDocument(inline = false): Record<string, unknown> {
    return compact({
      pegasus: inline ? undefined : PEGASUS_VERSION,
      replicas: this.entries.map((e) =>
        compact({
          lfn: e.lfn,
          pfns: e.pfns.map((p) => ({ site: p.site, pfn: p.pfn })),
          checksum: e.checksum ? { ...e.checksum } : undefined,
          metadata: Object.keys(e.metadata).length > 0 ? { ...e.metadata } : undefined,
          regex: e.regex ? true : undefined,
        }),
      ),
    });
  }

  write(file = 'replicas.yml', opts: { signal?: AbortSignal } = {}): Promise<void> {
    return writeYamlDocument(file, this.toDocument(), opts);
  }
}
