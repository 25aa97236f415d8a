import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Migration } from 'kysely/migration';
import { appFindings, type AppMigrations, loadConfig, migrateToLatest } from 'bastion';
import { unmigratedDatabase } from './helpers/migration-db.js';
import { BACKENDS, randomKey } from 'bastion/testing';

// What an application adds to Bastion besides routes (packages/bastion/src/bastion.ts): its migrations, run after
// Bastion's without ever replacing one, and deploy checks under ids of its own.

const table = (name: string): Migration => ({
  async up(db) {
    await db.schema.createTable(name).addColumn('id', 'integer').execute();
  },
});

for (const backend of BACKENDS) {
  test(`[${backend}] app migrations run after Bastion's, a later one sorting before a ran one still runs, and a name Bastion owns is refused`, async (t) => {
    const { db } = await unmigratedDatabase(t, backend);
    const first: AppMigrations = () => ({ 'app:001-notes': table('notes') });
    const applied = await migrateToLatest(db, first);
    assert.equal(applied.at(-1), 'app:001-notes', `after every Bastion migration: ${applied.join(', ')}`);
    // As a Bastion release adds a migration that sorts before one the app has already run.
    const later: AppMigrations = () => ({ 'app:001-notes': table('notes'), '000-late': table('late_table') });
    assert.deepEqual(await migrateToLatest(db, later), ['000-late']);
    const clash: AppMigrations = () => ({ '001-initial': table('evil') });
    await assert.rejects(migrateToLatest(db, clash), /clash with Bastion's: 001-initial/);
  });
}

test("an app's deploy checks report under their own ids; one claiming a bastion.* id is refused", () => {
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey() }, dotenvPath: null });
  const own = () => [{ id: 'guestbook.W001', severity: 'warning' as const, message: 'm', fix: 'f' }];
  const quiet = () => [];
  assert.deepEqual(
    appFindings(config, [own, quiet]).map((f) => f.id),
    ['guestbook.W001'],
  );
  const thief = () => [{ id: 'bastion.E001', severity: 'error' as const, message: 'm', fix: 'f' }];
  assert.throws(() => appFindings(config, [thief]), /bastion\.\* are Bastion's: bastion\.E001/);
});
