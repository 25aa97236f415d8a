import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Eta, EtaFileResolutionError } from 'eta';
import { rememberPaths } from '../src/http/views.js';

// Template names are resolved once per (including file, name) pair (packages/bastion/src/http/views.ts). The
// memo must not change what a name means: the same relative name from two directories is two
// files, and a name leading out of the views directory is refused every time, not only the first.

test('remembered template paths keep relative includes apart and refuse a way out of the views directory every time', (t) => {
  const views = mkdtempSync(join(tmpdir(), 'bastion-views-'));
  t.after(() => rmSync(views, { recursive: true, force: true }));
  for (const dir of ['a', 'b']) {
    mkdirSync(join(views, dir, 'partials'), { recursive: true });
    writeFileSync(join(views, dir, 'page.eta'), `<%~ include('./partials/part', { n: it.n }) %>`);
    writeFileSync(join(views, dir, 'partials', 'part.eta'), `${dir}:<%= it.n %>`);
  }
  writeFileSync(join(views, 'outside.eta'), `<%~ include('../../etc/hostname') %>`);
  const eta = new Eta({ views, cache: true, autoEscape: true, useWith: false, varName: 'it' });
  rememberPaths(eta);

  for (let round = 0; round < 3; round++) {
    assert.equal(eta.render('a/page', { n: '<1>' }), 'a:&lt;1&gt;');
    assert.equal(eta.render('b/page', { n: round }), `b:${round}`);
    assert.throws(() => eta.render('../escape', {}), EtaFileResolutionError, `direct name, round ${round}`);
    assert.throws(() => eta.render('outside', {}), EtaFileResolutionError, `include, round ${round}`);
  }
});
