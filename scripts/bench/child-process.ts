import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromChild, MemorySample, ToChild } from './child-ipc.js';

// The runner side of a server under test: a separate Node process (so the load generator never
// shares its event loop), started through tsx, talking over an IPC channel.

export interface ChildServer {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  memory(gc: boolean): Promise<MemorySample>;
  /** CPU time the process has used so far (user + system, every thread), microseconds. */
  cpuMicros(): Promise<number>;
  /** The event loop's delay since the previous call, milliseconds. */
  loopDelay(): Promise<{ p99: number; max: number }>;
  stop(): Promise<void>;
}

export interface ChildOptions {
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  readonly startTimeoutMs?: number;
}

export async function startChild(
  name: string,
  entry: 'app-server.ts' | 'baseline-server.ts' | 'floor-server.ts',
  spec: object,
  options: ChildOptions = {},
): Promise<ChildServer> {
  const file = fileURLToPath(new URL(`./${entry}`, import.meta.url));
  // --expose-gc only lets the memory sample collect first; it changes nothing per request.
  const child = spawn(process.execPath, ['--expose-gc', ...(options.nodeArgs ?? []), '--import', 'tsx', file], {
    // Only what Node and tsx need: the app reads its configuration from BENCH_SPEC, never from
    // the caller's environment or .env.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BENCH_SPEC: JSON.stringify(spec) },
    // The server's logs are produced (that cost is measured) but not kept.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start in time`)), options.startTimeoutMs ?? 60_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n${stderr}`));
    };
    child.once('exit', (code) => fail(new Error(`${name} exited with ${code} before listening`)));
    child.on('message', (message: FromChild) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(message.port);
      }
    });
  });
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    memory: async (gc) => {
      const reply = await ask(child, { type: 'memory', gc }, 'memory');
      return { rss: reply.rss, heapUsed: reply.heapUsed, maxRss: reply.maxRss };
    },
    cpuMicros: async () => (await ask(child, { type: 'cpu' }, 'cpu')).micros,
    loopDelay: async () => {
      const reply = await ask(child, { type: 'loop' }, 'loop');
      return { p99: reply.p99, max: reply.max };
    },
    stop: () => stopChild(child),
  };
}

function ask<K extends FromChild['type']>(child: ChildProcess, message: ToChild, answer: K): Promise<Extract<FromChild, { type: K }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: FromChild): void => {
      if (reply.type !== answer) return;
      child.off('message', onMessage);
      resolve(reply as Extract<FromChild, { type: K }>);
    };
    child.on('message', onMessage);
    child.send(message, (err) => {
      if (err) reject(err);
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.send({ type: 'stop' } satisfies ToChild);
  });
}
