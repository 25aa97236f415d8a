// bastion/cli: the command line an app gets from Bastion (runCli), apart from the main entry so a
// command such as `check` does not load the whole server.
export { type BastionApp } from './bastion-app.js';
export { runCli } from './run-cli.js';
export { commandTable, usage } from './run-cli.js';
