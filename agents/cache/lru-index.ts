/**
 * The cache's bookkeeping (no I/O): entries by key in least-recently-used order, their
 * total bytes, and which to evict to make room. An entry with pins > 0 is in use by an
 * attempt and is never chosen: evicting it would not even free its space (the attempt's
 * scratch holds a hard link to the same inode) and the next user would fetch it again.
 */

export interface LruEntry {
  readonly key: string;
  readonly size: number;
  /** Attempts using it now. */
  pins: number;
  /** Epoch ms of its last use (the order is kept by the index; this is for reports). */
  lastUse: number;
}

export class LruIndex<E extends LruEntry> {
  /** Insertion order = use order, oldest first (a use re-inserts the entry at the end). */
  private readonly map = new Map<string, E>();
  private total = 0;

  get(key: string): E | undefined {
    return this.map.get(key);
  }

  /** Add (or replace) an entry as the most recently used. */
  add(e: E): void {
    const old = this.map.get(e.key);
    if (old) this.delete(old);
    this.map.set(e.key, e);
    this.total += e.size;
  }

  /** Mark `e` used now (most recently used). No-op for an entry no longer indexed. */
  touch(e: E, now = Date.now()): void {
    if (this.map.get(e.key) !== e) return;
    this.map.delete(e.key);
    this.map.set(e.key, e);
    e.lastUse = now;
  }

  /** Remove exactly this entry (not a newer one under the same key); true when it was there. */
  delete(e: E): boolean {
    if (this.map.get(e.key) !== e) return false;
    this.map.delete(e.key);
    this.total -= e.size;
    return true;
  }

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.map.size;
  }

  /** Oldest use first. */
  values(): IterableIterator<E> {
    return this.map.values();
  }

  pinned(): number {
    let n = 0;
    for (const e of this.map.values()) if (e.pins > 0) n++;
    return n;
  }

  /**
   * The unpinned entries to evict, least recently used first, so that
   * `bytes - evicted + reserved + need <= budget`. Undefined when even evicting every
   * unpinned entry would not make room — then nothing should be evicted.
   */
  victims(need: number, budget: number, reserved = 0): E[] | undefined {
    let over = this.total + reserved + need - budget;
    if (over <= 0) return [];
    const out: E[] = [];
    for (const e of this.map.values()) {
      if (e.pins > 0) continue;
      out.push(e);
      over -= e.size;
      if (over <= 0) return out;
    }
    return undefined;
  }
}
