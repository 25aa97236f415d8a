import { runAttackKit } from 'bastion/testing';
import { buildGuestbook } from '../src/build.js';

// The guestbook runs Bastion's attack kit against itself, as any app on Bastion would, with no
// security code of its own: every route not declared public refuses an anonymous caller, every
// unsafe page route refuses a missing or foreign CSRF token, every answer carries the headers,
// and the route fuzzer finds no 5xx. Its routes are found as they register, not listed here.

runAttackKit({
  name: 'Guestbook',
  build: buildGuestbook,
  builderModule: { module: new URL('../src/build.ts', import.meta.url), exportName: 'buildGuestbook' },
  // Proves the enumeration saw both faces of the app's own routes.
  mustSee: ['GET /', 'POST /messages', 'GET /api/guestbook'],
});
