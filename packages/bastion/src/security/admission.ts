import { AppError } from '../http/app-error.js';

/** Work admitted `concurrency` at a time, with at most `queueLimit` waiting. */
export interface Admission {
  /**
   * Runs `work` when a slot is free; AppError UNAVAILABLE (503 + Retry-After) at once when the
   * queue is full. When `signal` aborts while it waits, it leaves the queue and rejects with the
   * signal's reason; `work` is then never run.
   */
  run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Requests waiting for a slot now. */
  readonly queued: number;
  /** Work running now. */
  readonly active: number;
}

// A queue with no bound is a memory and latency leak under a crowd: each waiting request holds
// its socket and request, and the last waits behind all of them. Beyond the bound a request is
// refused at once, as busy (the client did nothing wrong), before anything is read or written.
// A request whose client hung up while it waited gives its place up at once: it would otherwise
// hold it, and then a slot, for an answer no one will read.
export function boundedAdmission(concurrency: number, queueLimit: number): Admission {
  let active = 0;
  // Insertion-ordered (first come, first served), and a waiter that leaves is removed in O(1).
  const waiting = new Set<() => void>();

  async function start<T>(work: () => Promise<T>): Promise<T> {
    active++;
    try {
      return await work();
    } finally {
      active--;
      const next = waiting.values().next();
      if (!next.done) {
        waiting.delete(next.value);
        next.value();
      }
    }
  }

  return {
    run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      if (active < concurrency) return start(work);
      if (waiting.size >= queueLimit) return Promise.reject(new AppError('UNAVAILABLE'));
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => {
          waiting.delete(admit);
          reject(signal!.reason as Error);
        };
        const admit = () => {
          signal?.removeEventListener('abort', onAbort);
          start(work).then(resolve, reject);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        waiting.add(admit);
      });
    },
    get queued() {
      return waiting.size;
    },
    get active() {
      return active;
    },
  };
}
