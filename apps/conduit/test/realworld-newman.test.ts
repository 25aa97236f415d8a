import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// The public RealWorld conformance collection (a client nobody here wrote), run by newman
// against a real server on a loopback port, once per backend. Every assertion must pass.

interface NewmanFailure {
  readonly error: { readonly test?: string; readonly message: string };
  readonly source?: { readonly name?: string };
}
interface NewmanSummary {
  readonly run: {
    readonly failures: readonly NewmanFailure[];
    readonly stats: { readonly requests: { total: number }; readonly assertions: { total: number; failed: number } };
  };
}
interface Newman {
  run(options: Record<string, unknown>, callback: (err: Error | null, summary: NewmanSummary) => void): void;
}

const newman = createRequire(import.meta.url)('newman') as Newman;
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
// The shared copy next to the checkout is the reference; a clone elsewhere runs the vendored one.
const SHARED = resolve(repoRoot, '../shared/realworld/Conduit.postman_collection.json');
const VENDORED = resolve(repoRoot, 'apps/conduit/test/fixtures/realworld/Conduit.postman_collection.json');
const COLLECTION = existsSync(SHARED) ? SHARED : VENDORED;

test(
  'the vendored RealWorld collection is the shared one, unchanged',
  { skip: !existsSync(SHARED) && 'no ../shared/realworld here' },
  () => {
    assert.ok(
      readFileSync(VENDORED).equals(readFileSync(SHARED)),
      'apps/conduit/test/fixtures/realworld is out of date: copy ../shared/realworld over it',
    );
  },
);

function runCollection(apiUrl: string): Promise<NewmanSummary> {
  const id = randomBytes(4).toString('hex');
  const globals = {
    APIURL: apiUrl,
    USERNAME: `u${id}`,
    EMAIL: `u${id}@example.com`,
    // The collection's own default ("password") is refused by our policy by design.
    PASSWORD: `Conduit-${randomBytes(8).toString('hex')}-ok`,
  };
  return new Promise((done, fail) => {
    newman.run(
      {
        collection: COLLECTION,
        globalVar: Object.entries(globals).map(([key, value]) => ({ key, value })),
        reporters: [],
        timeoutRequest: 15_000,
      },
      (err, summary) => (err ? fail(err) : done(summary)),
    );
  });
}

for (const backend of BACKENDS) {
  test(`[${backend}] the RealWorld conformance collection passes in full`, async (t) => {
    const { app } = await startTestApp(t, backend);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const summary = await runCollection(`${address}/api`);
    const failures = summary.run.failures.map((f) => `${f.source?.name ?? '?'}: ${f.error.test ?? ''} ${f.error.message}`);
    assert.deepEqual(failures, []);
    assert.ok(summary.run.stats.requests.total >= 30, 'every request of the collection ran');
    assert.ok(summary.run.stats.assertions.total >= 200, 'its assertions ran');
    assert.equal(summary.run.stats.assertions.failed, 0);
  });
}
