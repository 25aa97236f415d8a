import { fileURLToPath } from 'node:url';
import type { StartOptions } from 'bastion';
import { guestbookApi } from './api.js';
import { guestbookMigrations } from './migrations.js';
import { guestbookPages } from './pages.js';

// The whole application, as what it hands Bastion: its name, its pages, its JSON route, its
// templates, its table and its roles. Everything else (accounts, sessions, CSRF, headers, limits,
// admin) is Bastion's.

export const VIEWS_DIR = fileURLToPath(new URL('../views/', import.meta.url));

export interface GuestbookOptions {
  /** The clock messages are stamped with (tests pass their own). */
  readonly now?: () => Date;
}

export function guestbook(options: GuestbookOptions = {}) {
  const now = options.now ?? (() => new Date());
  return {
    site: { name: 'Guestbook', writes: 'messages' },
    migrations: guestbookMigrations,
    // Moderators exist (they hide and show messages: routes declared `access: 'moderator'`), with
    // no grants beyond a member's; the guestbook has no admin page of its own, so no admin tab.
    roles: { moderator: {} },
    views: [VIEWS_DIR],
    api: { prefix: '/api', routes: [guestbookApi] },
    pages: [async (scope, runtime) => guestbookPages(scope, runtime, now)],
  } satisfies StartOptions;
}
