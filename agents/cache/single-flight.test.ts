import { describe, expect, it } from 'vitest';
import { SingleFlight } from './single-flight.js';

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('runs once for concurrent callers and claims once per caller before any resumes', async () => {
    const sf = new SingleFlight<{ pins: number }>();
    const d = deferred<{ pins: number }>();
    let runs = 0;
    const start = (): Promise<{ pins: number }> => {
      runs++;
      return d.promise;
    };
    const seen: number[] = [];
    const hooks = {
      claim: (v: { pins: number }) => v.pins++,
      settled: (v: { pins: number }) => v.pins--,
    };
    const calls = Array.from({ length: 5 }, () =>
      sf.do('k', undefined, start, hooks).then((r) => {
        seen.push(r.value.pins);
        return r.shared;
      }),
    );
    expect(sf.size).toBe(1);
    d.resolve({ pins: 1 });
    const shared = await Promise.all(calls);
    expect(runs).toBe(1);
    expect(shared.filter((s) => !s)).toHaveLength(1);
    // Every caller saw all five pins in place (the run's own pin already dropped).
    expect(seen).toEqual([5, 5, 5, 5, 5]);
    expect(sf.size).toBe(0);
  });

  it('one caller aborting leaves the run to the others; all aborting frees the key', async () => {
    const sf = new SingleFlight<string>();
    const runs: AbortSignal[] = [];
    const d = deferred<string>();
    const start = (s: AbortSignal): Promise<string> => {
      runs.push(s);
      return d.promise;
    };
    const a = new AbortController();
    const b = new AbortController();
    const pa = sf.do('k', a.signal, start);
    const pb = sf.do('k', b.signal, start);
    await Promise.resolve();
    a.abort(new Error('a gone'));
    await expect(pa).rejects.toThrow('a gone');
    expect(runs[0]?.aborted).toBe(false);
    b.abort(new Error('b gone'));
    await expect(pb).rejects.toThrow('b gone');
    expect(runs[0]?.aborted).toBe(true);
    // The key is free: a new caller starts a new run instead of joining the dying one.
    const pc = sf.do('k', undefined, () => Promise.resolve('fresh'));
    await expect(pc).resolves.toEqual({ value: 'fresh', shared: false });
    d.resolve('late');
  });

  it('gives every caller the error of a failed run', async () => {
    const sf = new SingleFlight<string>();
    const start = (): Promise<string> => Promise.reject(new Error('boom'));
    const all = await Promise.allSettled([
      sf.do('k', undefined, start),
      sf.do('k', undefined, start),
    ]);
    expect(all.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(sf.size).toBe(0);
  });
});
