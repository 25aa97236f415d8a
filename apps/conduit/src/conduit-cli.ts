import { runCli } from 'bastion/cli';
import { conduit } from './conduit-app.js';

// `bastion <command>` (apps/conduit/bin/conduit.js): Bastion's command line, with Conduit's parts. runCli from
// its own module, not the bastion.js barrel: `check` then loads the configuration and no server.
await runCli(conduit, process.argv.slice(2));
