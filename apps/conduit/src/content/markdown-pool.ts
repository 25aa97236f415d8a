import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { boundedAdmission, type Admission } from 'bastion';

// Markdown is rendered when an article is written, on worker threads, never on the event loop.
// markdown-it and the sanitizer are linear, but a crafted 100 KB body still costs 100–600 ms of
// CPU (a table of one-character cells, a run of bare domains that linkify turns into links):
// on the event loop that was 100–600 ms in which no one, /healthz included, was answered.
//
// Each thread renders one source at a time, with a deadline: past it the thread is terminated
// (the only way to stop synchronous code) and a fresh one started, and the write is refused.
// Writers wait in a bounded queue (503 + Retry-After beyond it), and the per-account write
// limits (packages/bastion/src/security/write-limits.ts) bound what one member can queue.

/** As many threads as the hashing may use: never more than the cores minus one, so the event loop keeps a core. */
export const RENDER_THREADS = Math.max(1, Math.min(2, availableParallelism() - 1));
/**
 * Far above the slowest 100 KB body measured (0.6 s on an idle core, 2.2 s with the machine's two
 * cores loaded 3.5×), so that an honest body is not refused on a busy machine. (The threads are
 * not niced, unlike the scan readers: on a crowded machine a niced renderer got under 1% of a
 * core and honest 30 KB bodies ran out of time; RENDER_THREADS leaves the event loop its core.) Markdown-it and the sanitizer are linear and
 * bodies are at most 100 KB, so no known source comes near it: it is the backstop for one that
 * would hold a thread for longer, whatever that source may be.
 */
export const RENDER_DEADLINE_MS = 10_000;
/** Renders waiting for a thread beyond the running ones: a second or two of honest writes, more only under attack. */
export const RENDER_QUEUE_LIMIT = RENDER_THREADS * 16;
/** A render that allocates past this is stopped by V8 and refused like one too large. */
const RENDERER_HEAP_MB = 256;

export interface RenderRequest {
  readonly id: number;
  readonly source: string;
}
export interface RenderReply {
  readonly id: number;
  /** null: the HTML outgrew renderLimit (apps/conduit/src/content/markdown.ts). */
  readonly html: string | null;
}

export type RenderOutcome =
  { readonly ok: true; readonly html: string } | { readonly ok: false; readonly reason: 'too-large' | 'too-slow' };

export interface MarkdownPoolOptions {
  readonly threads?: number;
  readonly deadlineMs?: number;
  readonly queueLimit?: number;
}

// Beside this module and in its form: dist/…/markdown-worker.js when built, the .ts source when
// the tests run src/ under tsx (a worker inherits the process's `--import tsx` with its execArgv).
const RENDERER = new URL(`./markdown-worker${extname(import.meta.url)}`, import.meta.url);

interface Job {
  readonly id: number;
  settle(outcome: RenderOutcome | Error): void;
}

class RenderThread {
  private readonly worker: Worker;
  /** Resolves true once the renderer has loaded, false if it exits first. */
  private readonly started: Promise<boolean>;
  private job: Job | null = null;
  private nextId = 1;
  alive = true;

  constructor() {
    this.worker = new Worker(RENDERER, { resourceLimits: { maxOldGenerationSizeMb: RENDERER_HEAP_MB } });
    // Held open only while it renders: an idle renderer never keeps the process alive.
    this.worker.unref();
    let started: (loaded: boolean) => void = () => {};
    this.started = new Promise((resolve) => (started = resolve));
    this.worker.on('message', (message: RenderReply | 'ready') => {
      if (message === 'ready') started(true);
      else if (this.job?.id === message.id)
        this.finish(message.html === null ? { ok: false, reason: 'too-large' } : { ok: true, html: message.html });
    });
    this.worker.on('error', (err: Error & { code?: string }) => {
      this.alive = false;
      // Out of heap: the source blew up while rendering, like a render that outgrew its bound.
      this.finish(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? { ok: false, reason: 'too-large' } : err);
    });
    this.worker.on('exit', (code) => {
      this.alive = false;
      started(false);
      this.finish(new Error(`markdown renderer exited (${code})`));
    });
  }

  async render(source: string, deadlineMs: number): Promise<RenderOutcome> {
    // Held open from here until the answer, its start included: an unreferenced thread still
    // loading would let a process with nothing else to do exit under the waiting write.
    this.worker.ref();
    if (!(await this.started) || !this.alive) {
      this.worker.unref();
      throw new Error('markdown renderer did not start');
    }
    const id = this.nextId++;
    return new Promise<RenderOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.alive = false;
        this.finish({ ok: false, reason: 'too-slow' });
        void this.worker.terminate();
      }, deadlineMs);
      this.job = {
        id,
        settle(outcome) {
          clearTimeout(timer);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        },
      };
      this.worker.postMessage({ id, source } satisfies RenderRequest);
    });
  }

  get busy(): boolean {
    return this.job !== null;
  }

  terminate(): Promise<number> {
    this.alive = false;
    return this.worker.terminate();
  }

  private finish(outcome: RenderOutcome | Error): void {
    const job = this.job;
    this.job = null;
    this.worker.unref();
    job?.settle(outcome);
  }
}

/** Worker threads that render Markdown with a deadline each; see the top of this file. */
export class MarkdownPool {
  private readonly admission: Admission;
  private readonly idle: RenderThread[] = [];
  private readonly running = new Set<RenderThread>();
  private readonly deadlineMs: number;
  private readonly threads: number;
  private closed = false;

  constructor(options: MarkdownPoolOptions = {}) {
    this.threads = options.threads ?? RENDER_THREADS;
    this.deadlineMs = options.deadlineMs ?? RENDER_DEADLINE_MS;
    this.admission = boundedAdmission(this.threads, options.queueLimit ?? RENDER_QUEUE_LIMIT);
  }

  /** The source's sanitized HTML, or why it is refused; AppError UNAVAILABLE (503) when the queue is full. */
  render(source: string): Promise<RenderOutcome> {
    return this.admission.run(async () => {
      if (this.closed) throw new Error('the markdown renderers are closed');
      // The admission lets at most `threads` through at once, so there is never more threads than that.
      let thread = this.idle.pop();
      while (thread !== undefined && !thread.alive) thread = this.idle.pop();
      thread ??= new RenderThread();
      this.running.add(thread);
      try {
        return await thread.render(source, this.deadlineMs);
      } finally {
        this.running.delete(thread);
        // A thread stopped at its deadline is replaced at once, so the next write does not wait for one to load.
        if (!this.closed) this.idle.push(thread.alive ? thread : new RenderThread());
      }
    });
  }

  /**
   * Starts the threads now rather than on the first write, which would otherwise wait for one
   * to load (a second or more; far more on a crowded machine). The server calls it as it starts.
   */
  warm(): void {
    while (!this.closed && this.idle.length + this.running.size < this.threads) this.idle.push(new RenderThread());
  }

  /** Sources being rendered on a thread right now (not those waiting for one). */
  get rendering(): number {
    let n = 0;
    for (const thread of this.running) if (thread.busy) n++;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.idle.splice(0), ...this.running].map((t) => t.terminate()));
  }
}

// One pool per process, like the hashing slots and the scan readers: the threads it bounds are
// the process's.
let shared: MarkdownPool | null = null;

/** The process's renderers, started on first use. */
export const markdownPool = (): MarkdownPool => (shared ??= new MarkdownPool());

/** Replaces the process's renderers (a test's shorter deadline) and closes the old ones. */
export async function replaceMarkdownPool(pool: MarkdownPool): Promise<void> {
  const old = shared;
  shared = pool;
  await old?.close();
}
