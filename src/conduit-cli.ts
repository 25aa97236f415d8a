import { runCli } from './bastion.js';
import { conduit } from './conduit-app.js';

// `bastion <command>` (bin/bastion.js): Bastion's command line, with Conduit's parts.
await runCli(conduit, process.argv.slice(2));
