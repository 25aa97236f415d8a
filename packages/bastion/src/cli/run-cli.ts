import type { BastionApp } from './bastion-app.js';
import { bastionCommands, commandContext, load, type CliCommand, type Outcome } from './bastion-commands.js';

// `<bin> <command>`: Bastion's commands first, then the app's, one table. An app command that
// takes a name of Bastion's (or another app command's) is refused before anything runs: `check`
// or `migrate` must never quietly become something else.

const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const COLUMN = 15;

/** Every command the app's command line has; throws on a bad or clashing app command name. */
export function commandTable(app: BastionApp): CliCommand[] {
  const table = bastionCommands(app);
  const bastions = new Set(table.map((c) => c.name));
  for (const command of app.commands ?? []) {
    if (!NAME.test(command.name) || command.name.length > COLUMN)
      throw new Error(
        `${app.name}: the command name ${JSON.stringify(command.name)} is not lower-case words joined by hyphens (at most ${COLUMN} characters)`,
      );
    if (bastions.has(command.name))
      throw new Error(`${app.name}: the command ${command.name} is Bastion's; give the app's command another name`);
    if (table.some((c) => c.name === command.name)) throw new Error(`${app.name}: the command ${command.name} is listed twice`);
    table.push({
      name: command.name,
      usage: command.usage,
      run: (args) => {
        const { config } = load();
        return command.run(config, args, commandContext(app, config));
      },
    });
  }
  return table;
}

/** The usage text: each command's name, then its usage, a further line aligned under the first. */
export function usage(app: BastionApp, table: readonly CliCommand[]): string {
  const lines = table.map((c) => `  ${c.name.padEnd(COLUMN)}${c.usage.split('\n').join(`\n  ${' '.repeat(COLUMN)}`)}`);
  return `usage: ${app.bin} <command>\n\ncommands:\n${lines.join('\n')}\n`;
}

/** Runs one command; the exit code, or 'serving' while a started server runs. */
export async function runCommand(app: BastionApp, argv: readonly string[]): Promise<Outcome> {
  const table = commandTable(app);
  const [name, ...rest] = argv;
  const command = table.find((c) => c.name === name);
  if (command) return command.run(rest);
  process.stderr.write(usage(app, table));
  return name === undefined || name === '--help' ? 0 : 2;
}

/**
 * The app's command line: `runCli(app, process.argv.slice(2))` is a whole bin. The process
 * exits with the command's code, except while `start` serves (SIGTERM ends it, drained).
 */
export async function runCli(app: BastionApp, argv: readonly string[]): Promise<void> {
  const outcome = await runCommand(app, argv);
  if (outcome !== 'serving') process.exit(outcome);
}
