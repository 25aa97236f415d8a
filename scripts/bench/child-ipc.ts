import { monitorEventLoopDelay } from 'node:perf_hooks';

// The child side of the runner's IPC channel (see child-process.ts): announce the port once
// listening, answer memory samples, and shut down cleanly when told (so --cpu-prof can write
// its profile on exit).

export interface MemorySample {
  /** Resident set size now, bytes. */
  readonly rss: number;
  /** V8 heap in use (after a full collection when `gc` was asked for), bytes. */
  readonly heapUsed: number;
  /** Peak resident set size of the whole process so far, bytes. */
  readonly maxRss: number;
}

export type ToChild =
  { readonly type: 'memory'; readonly gc: boolean } | { readonly type: 'cpu' } | { readonly type: 'loop' } | { readonly type: 'stop' };
export type FromChild =
  | { readonly type: 'ready'; readonly port: number }
  | ({ readonly type: 'memory' } & MemorySample)
  | { readonly type: 'cpu'; readonly micros: number }
  /** Event-loop delay since the previous 'loop' message, milliseconds. */
  | { readonly type: 'loop'; readonly p99: number; readonly max: number };

const send = (message: FromChild): void => {
  process.send?.(message);
};

export function serveIpc(port: number, stop: () => Promise<void>): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  // How long the event loop was blocked: tells a server that stalls from a machine that is busy.
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  process.on('message', (message: ToChild) => {
    if (message.type === 'memory') {
      if (message.gc && gc) {
        gc();
        gc();
      }
      const usage = process.memoryUsage();
      send({ type: 'memory', rss: usage.rss, heapUsed: usage.heapUsed, maxRss: process.resourceUsage().maxRSS * 1024 });
    } else if (message.type === 'cpu') {
      // CPU time of the whole process (every thread): steadier than req/s on a shared machine.
      const cpu = process.cpuUsage();
      send({ type: 'cpu', micros: cpu.user + cpu.system });
    } else if (message.type === 'loop') {
      send({ type: 'loop', p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 });
      delay.reset();
    } else if (message.type === 'stop') {
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    }
  });
  // The runner is gone (crashed or interrupted): do not linger holding the port.
  process.on('disconnect', () => {
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  send({ type: 'ready', port });
}

/** The JSON spec the runner passes in BENCH_SPEC. */
export function readSpec<T>(): T {
  const raw = process.env.BENCH_SPEC;
  if (raw === undefined) throw new Error('BENCH_SPEC is missing: this file is started by scripts/bench/bench.ts');
  return JSON.parse(raw) as T;
}
