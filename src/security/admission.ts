import { Semaphore } from '../accounts/password-hasher.js';
import { AppError } from '../http/app-error.js';

/** Work admitted `concurrency` at a time, with at most `queueLimit` waiting. */
export interface Admission {
  /** Runs `work` when a slot is free; AppError UNAVAILABLE (503 + Retry-After) at once when the queue is full. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Requests waiting for a slot now. */
  readonly queued: number;
}

// A queue with no bound is a memory and latency leak under a crowd: each waiting request holds
// its socket and request, and the last waits behind all of them. Beyond the bound a request is
// refused at once, as busy (the client did nothing wrong), before anything is read or written.
export function boundedAdmission(concurrency: number, queueLimit: number): Admission {
  const slots = new Semaphore(concurrency);
  return {
    run: (work) => (slots.queued >= queueLimit ? Promise.reject(new AppError('UNAVAILABLE')) : slots.run(work)),
    get queued() {
      return slots.queued;
    },
  };
}
