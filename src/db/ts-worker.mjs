// Worker threads do not inherit tsx's loader from the main thread (Node 20), so a worker cannot
// start from a .ts file. Each starts here instead, in plain JavaScript: tsx is registered in the
// worker, then the TypeScript module named in workerData.module is loaded.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
