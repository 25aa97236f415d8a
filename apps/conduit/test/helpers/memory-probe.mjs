// Preloaded into a Bastion test instance (NODE_OPTIONS=--import <this file>) to measure what
// RSS alone cannot: the live JavaScript heap. Every PROBE_INTERVAL_MS it asks V8 for a full
// collection and prints what survived, so a leak (objects kept per request) is told apart from
// a collector that simply has not run yet. Nothing of the app is replaced or changed.
// Plain JavaScript: NODE_OPTIONS imports load before the process's own `--import tsx`.
import v8 from 'node:v8';
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';

const PROBE_INTERVAL_MS = 2_000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

// NODE_OPTIONS reaches worker threads too (the Markdown renderers, the SQLite scan readers):
// only the main thread reports, or the series mixes its heap with theirs (~60 MiB beside ~13)
// and a median flips between them as the mix of samples shifts.
if (isMainThread)
  setInterval(() => {
    gc();
    const { heapUsed, rss } = process.memoryUsage();
    process.stdout.write(`bastion-test-memory ${JSON.stringify({ at: Date.now(), heapUsed, rss })}\n`);
  }, PROBE_INTERVAL_MS).unref();
