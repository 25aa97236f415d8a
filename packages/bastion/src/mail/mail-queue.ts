import { setTimeout as sleep } from 'node:timers/promises';
import type { MailTransport, OutgoingMail } from './transports.js';

// The in-process queue between a request and the mail server. A request enqueues and goes on at
// once; a worker delivers. The queue is bounded (a flood of "forgot password" must not grow the
// heap without end): beyond its limit a mail is refused, and the caller says so in the log. A
// delivery that fails for a passing reason (no connection, a 4xx answer, a timeout) is retried
// after an exponentially growing wait, up to a limit; a 5xx answer is final at once.

export interface QueuedMail {
  readonly id: string;
  /** The template's id: what logs and the failure record name the mail by. */
  readonly template: string;
  readonly mail: OutgoingMail;
  attempts: number;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** The wait after the first failure; each further failure doubles it, up to maxDelayMs. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 30_000, maxDelayMs: 10 * 60_000 };

/** The wait before attempt `failed + 1`, after `failed` failures. */
export const backoffDelay = (policy: RetryPolicy, failed: number): number =>
  Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failed - 1));

/** Waits `ms`, or less when `signal` aborts (at shutdown). Injectable: tests drive the backoff without sleeping. */
export type Wait = (ms: number, signal: AbortSignal) => Promise<void>;

const realWait: Wait = (ms, signal) => sleep(ms, undefined, { signal, ref: false }).catch(() => undefined);

/** Why a mail was given up: its attempts ran out, the server refused it for good, or the process stopped first. */
export type GiveUpReason = 'retries-exhausted' | 'permanent' | 'shutdown';

export interface QueueEvents {
  sent(item: QueuedMail, receipt: { readonly outboxPath?: string }): void;
  retrying(item: QueuedMail, error: unknown, delayMs: number): void;
  failed(item: QueuedMail, error: unknown, reason: GiveUpReason): void;
}

export interface MailQueueOptions {
  readonly transport: MailTransport;
  readonly limit: number;
  readonly retry: RetryPolicy;
  readonly events: QueueEvents;
  readonly wait?: Wait;
  /** Deliveries at the same time (default 2). */
  readonly concurrency?: number;
}

/** A 5xx reply: the server has refused this mail for good; asking again changes nothing. */
export function isPermanent(error: unknown): boolean {
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

export class MailQueue {
  readonly #options: MailQueueOptions;
  readonly #wait: Wait;
  readonly #ready: QueuedMail[] = [];
  readonly #sending = new Set<QueuedMail>();
  readonly #backingOff = new Set<QueuedMail>();
  /** Handed back by drain() as undelivered: a late failure of theirs is not reported twice. */
  readonly #abandoned = new Set<QueuedMail>();
  readonly #stop = new AbortController();
  #closing = false;
  readonly #idleWaiters: Array<() => void> = [];

  constructor(options: MailQueueOptions) {
    this.#options = options;
    this.#wait = options.wait ?? realWait;
  }

  /** Mails not yet delivered or given up: waiting, being sent, or waiting to be retried. */
  get size(): number {
    return this.#ready.length + this.#sending.size + this.#backingOff.size;
  }

  /** Takes the mail, or returns false when the queue is full or closing (it is then not sent). */
  enqueue(item: QueuedMail): boolean {
    if (this.#closing || this.size >= this.#options.limit) return false;
    this.#ready.push(item);
    this.#pump();
    return true;
  }

  /** Resolves when no mail is waiting, being sent or waiting for a retry. */
  whenIdle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops taking mail, gives every mail waiting for a retry its last attempt now, and waits up
   * to `deadlineMs` for the queue to empty. Returns the mails still undelivered at the deadline.
   */
  async drain(deadlineMs: number): Promise<QueuedMail[]> {
    this.#closing = true;
    this.#stop.abort();
    if (this.size > 0) {
      const emptied = this.whenIdle();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
      await Promise.race([emptied, deadline]);
      clearTimeout(timer);
    }
    const left = [...this.#ready, ...this.#sending, ...this.#backingOff];
    this.#ready.length = 0;
    for (const item of left) this.#abandoned.add(item);
    return left;
  }

  #pump(): void {
    const concurrency = this.#options.concurrency ?? 2;
    while (this.#sending.size < concurrency && this.#ready.length > 0) {
      const item = this.#ready.shift()!;
      this.#sending.add(item);
      void this.#attempt(item);
    }
    if (this.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  async #attempt(item: QueuedMail): Promise<void> {
    const { transport, retry, events } = this.#options;
    item.attempts += 1;
    try {
      const receipt = await transport.deliver(item.mail);
      this.#sending.delete(item);
      events.sent(item, receipt);
    } catch (error) {
      this.#sending.delete(item);
      if (this.#abandoned.has(item)) return;
      if (isPermanent(error)) events.failed(item, error, 'permanent');
      else if (item.attempts >= retry.maxAttempts) events.failed(item, error, 'retries-exhausted');
      else if (this.#closing) events.failed(item, error, 'shutdown');
      else this.#retryLater(item, error, backoffDelay(retry, item.attempts));
    }
    this.#pump();
  }

  #retryLater(item: QueuedMail, error: unknown, delayMs: number): void {
    this.#backingOff.add(item);
    this.#options.events.retrying(item, error, delayMs);
    void this.#wait(delayMs, this.#stop.signal)
      .catch(() => undefined)
      .then(() => {
        this.#backingOff.delete(item);
        if (this.#abandoned.has(item)) return;
        this.#ready.push(item);
        this.#pump();
      });
  }
}
