import { describe, expect, it } from 'vitest';
import { LruIndex, type LruEntry } from './lru-index.js';

const entry = (key: string, size: number, pins = 0): LruEntry => ({ key, size, pins, lastUse: 0 });

describe('LruIndex', () => {
  it('keeps use order, totals and exact deletes', () => {
    const ix = new LruIndex<LruEntry>();
    const a = entry('a', 10);
    const b = entry('b', 20);
    const c = entry('c', 30);
    ix.add(a);
    ix.add(b);
    ix.add(c);
    expect(ix.bytes).toBe(60);
    ix.touch(a, 5);
    expect([...ix.values()].map((e) => e.key)).toEqual(['b', 'c', 'a']);
    expect(a.lastUse).toBe(5);
    // A replacement under the same key: deleting the old object no longer removes it.
    const b2 = entry('b', 25);
    ix.add(b2);
    expect(ix.bytes).toBe(65);
    expect(ix.delete(b)).toBe(false);
    expect(ix.get('b')).toBe(b2);
    expect(ix.delete(b2)).toBe(true);
    expect(ix.bytes).toBe(40);
  });

  it('chooses least recently used unpinned victims, or none when room cannot be made', () => {
    const ix = new LruIndex<LruEntry>();
    const a = entry('a', 10, 1);
    const b = entry('b', 10);
    const c = entry('c', 10);
    ix.add(a);
    ix.add(b);
    ix.add(c);
    expect(ix.victims(5, 100)).toEqual([]);
    expect(ix.victims(15, 40)?.map((e) => e.key)).toEqual(['b']);
    expect(ix.victims(25, 40)?.map((e) => e.key)).toEqual(['b', 'c']);
    // reserved bytes of downloads in flight count too
    expect(ix.victims(5, 40, 10)?.map((e) => e.key)).toEqual(['b']);
    // only the pinned entry would remain: 10 + 35 > 40
    expect(ix.victims(35, 40)).toBeUndefined();
    expect(ix.pinned()).toBe(1);
  });
});
