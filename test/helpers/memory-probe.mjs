// Preloaded into a Bastion test instance (NODE_OPTIONS=--import <this file>) to measure what
// RSS alone cannot: the live JavaScript heap. Every PROBE_INTERVAL_MS it asks V8 for a full
// collection and prints what survived, so a leak (objects kept per request) is told apart from
// a collector that simply has not run yet. Nothing of the app is replaced or changed.
// Plain JavaScript: NODE_OPTIONS imports load before the process's own `--import tsx`.
import v8 from 'node:v8';
import vm from 'node:vm';

const PROBE_INTERVAL_MS = 2_000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

// The heap's objects, not its code: the code and trusted spaces (machine code, bytecode and their
// metadata) grow in steps as V8 compiles and optimises hot functions. On Node 24 the heap once
// stepped up ~24 MiB, once, mid-load, and stayed level; a step is no leak, and objects kept per
// request land in the other spaces.
const objectHeapUsed = () =>
  v8
    .getHeapSpaceStatistics()
    .filter((space) => !space.space_name.includes('code') && !space.space_name.includes('trusted'))
    .reduce((n, space) => n + space.space_used_size, 0);

setInterval(() => {
  gc();
  const { rss } = process.memoryUsage();
  const heapUsed = objectHeapUsed();
  process.stdout.write(`bastion-test-memory ${JSON.stringify({ at: Date.now(), heapUsed, rss })}\n`);
}, PROBE_INTERVAL_MS).unref();
