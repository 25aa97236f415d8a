import { startBastion } from 'bastion';
import { signingNeedsMail } from './checks.js';
import { guestbook } from './guestbook.js';

// `node --import tsx examples/guestbook/src/main.ts`: the configuration comes from the
// environment (.env) exactly as Conduit's does; in production a deploy error refuses the start.
// The same start as `guestbook start` (cli.ts), without the command line.
const started = await startBastion({ ...guestbook(), checks: [signingNeedsMail] });
started.app.log.info(`Guestbook is listening on ${started.address}`);
