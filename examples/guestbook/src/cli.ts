import { runCli } from 'bastion';
import { guestbook } from './guestbook.js';
import { signingNeedsMail } from './checks.js';

// `guestbook <command>`: Bastion's command line (start, migrate, check, create-admin) with the
// guestbook's parts; `node --import tsx examples/guestbook/src/cli.ts start`.
const { migrations, ...options } = guestbook();
await runCli({ name: 'Guestbook', bin: 'guestbook', options, migrations, checks: [signingNeedsMail] }, process.argv.slice(2));
