#!/usr/bin/env node
// What starting a worker thread costs (docs/runtime.md): starts the Markdown renderer's thread
// COUNT times, one after another, each kept running, and prints the median time from
// `new Worker` to its 'ready' message and the process's RSS growth per thread.
//   node scripts/bench/worker-start.js ENTRY [MODULE] [COUNT]
// ENTRY is the worker's file; MODULE, when given, is passed as workerData.module (the tsx
// loader shim main used: ENTRY=src/db/ts-worker.mjs MODULE=apps/conduit/src/content/markdown-worker.ts).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const [entry, module, count = '4'] = process.argv.slice(2);
if (!entry) throw new Error('usage: worker-start.js ENTRY [MODULE] [COUNT]');
const workerData = module ? { module: pathToFileURL(resolve(module)).href } : undefined;

const startMs = [];
const workers = [];
const rssBefore = process.memoryUsage().rss;
for (let i = 0; i < Number(count); i++) {
  const t0 = performance.now();
  const worker = new Worker(resolve(entry), { workerData });
  await new Promise((done, fail) => worker.on('message', (m) => m === 'ready' && done()).once('error', fail));
  startMs.push(performance.now() - t0);
  workers.push(worker);
}
const rssPerThread = (process.memoryUsage().rss - rssBefore) / workers.length;
startMs.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    medianStartMs: Math.round(startMs[startMs.length >> 1]),
    minStartMs: Math.round(startMs[0]),
    rssPerThreadMiB: +(rssPerThread / 2 ** 20).toFixed(1),
  }),
);
await Promise.all(workers.map((w) => w.terminate()));
