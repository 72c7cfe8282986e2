/**
 * Single-flight: concurrent requests for the same key share one run of the work (500
 * attempts reading one input on one agent cause one download). Contracts:
 *  - Every caller waiting when the run ends gets its value (or its error).
 *  - `claim(value)` runs synchronously once per caller that receives the value, all before
 *    any of them resumes, then `settled(value)` once: the cache pins its entry per attempt
 *    there, so nothing can evict it between the download and the attempts' use of it.
 *  - The run has its own signal, aborted only when every waiting caller has aborted: one
 *    killed attempt does not fail the download the others wait for. A caller that aborts
 *    is rejected at once with its signal's reason. Once every caller has left, the key is
 *    free again: the next request starts a new run instead of joining a dying one.
 */

export interface FlightResult<T> {
  value: T;
  /** True when this caller joined a run another caller started. */
  shared: boolean;
}

export interface FlightHooks<T> {
  claim?: (value: T) => void;
  settled?: (value: T) => void;
}

interface Waiter<T> {
  shared: boolean;
  resolve(r: FlightResult<T>): void;
  reject(e: unknown): void;
}

interface Flight<T> {
  waiters: Set<Waiter<T>>;
  controller: AbortController;
}

export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /** Runs in flight now. */
  get size(): number {
    return this.flights.size;
  }

  do(
    key: string,
    signal: AbortSignal | undefined,
    start: (signal: AbortSignal) => Promise<T>,
    hooks: FlightHooks<T> = {},
  ): Promise<FlightResult<T>> {
    signal?.throwIfAborted();
    let flight = this.flights.get(key);
    const shared = flight !== undefined;
    if (!flight) {
      const f: Flight<T> = { waiters: new Set(), controller: new AbortController() };
      this.flights.set(key, f);
      flight = f;
      // Started after this caller is registered (below), so it is counted as waiting.
      void Promise.resolve()
        .then(() => start(f.controller.signal))
        .then(
          (value) => {
            if (this.flights.get(key) === f) this.flights.delete(key);
            const waiters = [...f.waiters];
            f.waiters.clear();
            for (const _ of waiters) hooks.claim?.(value);
            hooks.settled?.(value);
            for (const w of waiters) w.resolve({ value, shared: w.shared });
          },
          (err: unknown) => {
            if (this.flights.get(key) === f) this.flights.delete(key);
            const waiters = [...f.waiters];
            f.waiters.clear();
            for (const w of waiters) w.reject(err);
          },
        );
    }
    const f = flight;
    return new Promise<FlightResult<T>>((resolve, reject) => {
      const onAbort = (): void => {
        if (!f.waiters.delete(w)) return;
        reject(signal?.reason);
        if (f.waiters.size === 0) {
          if (this.flights.get(key) === f) this.flights.delete(key);
          f.controller.abort(signal?.reason);
        }
      };
      const w: Waiter<T> = {
        shared,
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      f.waiters.add(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Abort every run (stop): their callers are rejected with `reason`. */
  abortAll(reason: unknown): void {
    for (const f of this.flights.values()) {
      const waiters = [...f.waiters];
      f.waiters.clear();
      f.controller.abort(reason);
      for (const w of waiters) w.reject(reason);
    }
    this.flights.clear();
  }
}
