import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import type { BastionOptions } from '../create-bastion.js';
import type { AppMigrations } from '../db/migrate.js';
import type { Db } from '../db/database.js';
import type { DeployCheck } from '../config/app-checks.js';
import type { Feature } from '../features/define-feature.js';

// What an application hands `runCli`: the command line is Bastion's (start, migrate, check,
// create-admin); the app brings its name, its routes, its tables, its deploy checks and any
// commands of its own, and they are listed, checked and run beside Bastion's.

/** One command of the app's own: `<bin> <name> [args]`, run with the validated configuration. */
export interface AppCommand {
  /** Lower-case words joined by hyphens; a name of Bastion's is refused. */
  readonly name: string;
  /** Its arguments and what it does, as the usage lists it (a second line for more). */
  readonly usage: string;
  /** Returns the exit code. */
  run(config: Config, args: readonly string[], context: CommandContext): Promise<number>;
}

/** What Bastion hands an app's command beside its configuration. */
export interface CommandContext {
  /**
   * The database brought up to date as `migrate` does (Bastion's migrations, the app's, its
   * features'), opened for this command alone, without sessions, Redis or routes; close it when done.
   */
  openMigratedDatabase(): Promise<Db>;
}

/** A server the app started itself: it opens its runtime (its migrations too) and listens. */
export interface AppServer {
  readonly app: FastifyInstance;
  readonly address: string;
}

/** Starts the app's server after the production refusal passed; the notices are the operator's to read in the log. */
export type AppStart = (config: Config, notices: readonly string[]) => Promise<AppServer>;

interface AppParts {
  /** The app's name, as the usage and the start log say it ("Conduit"). */
  readonly name: string;
  /** The command an operator types, for the usage line ("bastion", "guestbook"). */
  readonly bin: string;
  /** Run after Bastion's by `migrate`, and at `start` when Bastion builds the app from `options`. */
  readonly migrations?: AppMigrations;
  /** Features (defineFeature) whose tables `migrate` and `create-admin` bring up with the app's; an app built from `options` gives them there. */
  readonly features?: readonly Feature[];
  /**
   * The same two, loaded only by the commands that touch the database: a migration module that
   * imports 'bastion' loads the whole stack, which `check` (configuration only) should not pay for.
   */
  readonly tables?: () => Promise<{ readonly migrations?: AppMigrations; readonly features?: readonly Feature[] }>;
  /** Reported beside Bastion's by `check`; an error refuses a production `start`. Ids are the app's own. */
  readonly checks?: readonly DeployCheck[];
  readonly commands?: readonly AppCommand[];
}

/** The app's routes either as createBastion's options (Bastion serves them) or as a start of its own. */
export type BastionApp = AppParts &
  ({ readonly options: BastionOptions; readonly start?: never } | { readonly start: AppStart; readonly options?: never });
