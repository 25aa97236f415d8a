import type { BastionApp } from 'bastion/cli';

// Conduit as an app of Bastion's command line: its own start (apps/conduit/src/server.ts: the stale-render
// warning, the warmed Markdown threads, the bounded drain), its two commands, and its tables (its
// migrations, and its features' for `migrate` and `create-admin`). No deploy check of its own: a check
// judges the configuration alone (`check` runs anywhere, touching no store), while the one
// Conduit-only warning, articles rendered by another renderer, needs the database, so it stays
// in the start log. Each part is imported when its command runs, so `check` loads none of them.

export const conduit: BastionApp = {
  name: 'Conduit',
  bin: 'bastion',
  async tables() {
    const { conduitMigrations } = await import('./conduit/migrations/conduit-migrations.js');
    const { bookmarks } = await import('./conduit/bookmarks/bookmarks.js');
    return { migrations: conduitMigrations, features: [bookmarks] };
  },
  async start(config, notices) {
    const { startServer } = await import('./server.js');
    return startServer(config, notices);
  },
  commands: [
    {
      name: 'seed',
      usage: '[--users N] [--articles N]  fill the database with demo data (not in production)',
      async run(config, args) {
        const { runSeedCommand } = await import('./seed/seed-command.js');
        return runSeedCommand(config, [...args]);
      },
    },
    {
      name: 'rerender',
      usage:
        "[--all] [--batch N]  render stored article HTML again with this release's renderer\n(after upgrading markdown-it or sanitize-html); exit 1 if some Markdown is refused",
      async run(_config, args, { openMigratedDatabase }) {
        const { runRerenderCommand } = await import('./content/rerender-command.js');
        return runRerenderCommand(openMigratedDatabase, [...args]);
      },
    },
  ],
};
