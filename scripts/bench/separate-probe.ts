import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult, RequestSpec } from './load.js';
import { runProbe, type ProbeOptions } from './probe.js';

// The latency probe (probe.ts) in a process of its own, so that what it times is the server,
// not the event loop of the runner that drives the login flood's 50 connections. The child is
// started first and told to go when the flood starts, so the ~1 s it takes to load does not
// shorten the measurement.

interface Spec {
  readonly url: string;
  readonly requests: readonly RequestSpec[];
  readonly options: ProbeOptions;
}
type FromProbe =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly result: LoadResult }
  | { readonly type: 'error'; readonly message: string };

export interface SeparateProbe {
  /** Starts the load and resolves with its result. */
  run(): Promise<LoadResult>;
}

export async function prepareSeparateProbe(url: string, requests: readonly RequestSpec[], options: ProbeOptions): Promise<SeparateProbe> {
  const spec: Spec = { url, requests, options };
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BENCH_LOAD_SPEC: JSON.stringify(spec) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const messages: Array<(m: FromProbe) => void> = [];
  child.on('message', (m: FromProbe) => messages.shift()?.(m));
  const next = () =>
    new Promise<FromProbe>((resolve, reject) => {
      messages.push(resolve);
      child.once('exit', (code) => reject(new Error(`probe process exited (${code}) before answering`)));
    });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error('probe process did not start');
  return {
    async run() {
      const answer = next();
      child.send('go');
      const m = await answer;
      child.disconnect();
      if (m.type === 'result') return m.result;
      throw new Error(m.type === 'error' ? m.message : 'probe process answered out of turn');
    },
  };
}

// The child: waits for 'go', runs the load, sends the result.
if (process.env.BENCH_LOAD_SPEC !== undefined && process.send) {
  const spec = JSON.parse(process.env.BENCH_LOAD_SPEC) as Spec;
  const send = process.send.bind(process);
  process.once('message', () => {
    runProbe(spec.url, spec.requests, spec.options).then(
      (result) => send({ type: 'result', result } satisfies FromProbe),
      (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies FromProbe),
    );
  });
  send({ type: 'ready' } satisfies FromProbe);
}
