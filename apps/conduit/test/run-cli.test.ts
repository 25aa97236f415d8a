import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppCommand, BastionApp } from 'bastion';
import { commandTable, usage } from 'bastion/cli';
import { conduit } from '../src/conduit-app.js';

// The command table runCli dispatches on: Bastion's four commands, then the app's. A name of
// Bastion's cannot be taken by an app (`check` must stay the deploy report, `migrate` Bastion's
// migrations first), nor listed twice, nor be something the usage cannot show.

const command = (name: string): AppCommand => ({ name, usage: 'does a thing', run: async () => 0 });
const app = (...commands: AppCommand[]): BastionApp => ({ name: 'Wall', bin: 'wall', options: {}, commands });

test("an app command named like one of Bastion's is refused before anything runs", () => {
  for (const name of ['start', 'migrate', 'check', 'create-admin']) {
    assert.throws(() => commandTable(app(command(name))), new RegExp(`the command ${name} is Bastion's`), name);
  }
});

test('an app command listed twice, or with a name that is not lower-case words, is refused', () => {
  assert.throws(() => commandTable(app(command('export'), command('export'))), /export is listed twice/);
  for (const name of ['', 'Export', '--help', 'ex port', 'export-', 'a'.repeat(16)]) {
    assert.throws(() => commandTable(app(command(name))), /is not lower-case words/, JSON.stringify(name));
  }
});

test("the table is Bastion's commands, then the app's, and the usage lists them all under the app's bin", () => {
  const table = commandTable(app(command('export'), { ...command('prune'), usage: 'first line\nsecond line' }));
  assert.deepEqual(
    table.map((c) => c.name),
    ['start', 'migrate', 'check', 'create-admin', 'export', 'prune'],
  );
  const text = usage(app(), table);
  assert.match(text, /^usage: wall <command>\n/);
  assert.match(text, /^ {2}start {10}serve Wall \(refuses to start insecurely in production\)$/m);
  assert.match(text, /^ {2}export {9}does a thing$/m);
  assert.match(text, /^ {2}prune {10}first line\n {17}second line$/m, 'a second line aligned under the first');
});

test("Conduit's command line: Bastion's four and its seed and rerender", () => {
  assert.deepEqual(
    commandTable(conduit).map((c) => c.name),
    ['start', 'migrate', 'check', 'create-admin', 'seed', 'rerender'],
  );
});
