// The typed, frozen configuration every other module receives. Built once by load-config.ts.

import type { Role } from '../db/schema.js';

export type NodeEnv = 'development' | 'test' | 'production';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly isProduction: boolean;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** `null` selects the embedded SQLite file `<dataDir>/bastion.db`. */
  readonly databaseUrl: string | null;
  readonly databasePoolMax: number;
  readonly redisUrl: string | null;
  /** The prefix of every Redis key: one deployment's namespace. */
  readonly redisPrefix: string;
  /** Signs everything. */
  readonly secretKey: string;
  /** Previous keys: accepted when verifying, never used to sign. */
  readonly secretKeyFallbacks: readonly string[];
  /** e.g. https://conduit.example.com, without a trailing slash. */
  readonly publicOrigin: string;
  /** false, a hop count, or a list of addresses/CIDRs whose X-Forwarded-* headers are believed. */
  readonly trustProxy: false | number | readonly string[];
  readonly corsOrigins: readonly string[];
  /** Where account mail goes; `null` writes each mail to `<dataDir>/outbox/` instead. Holds the SMTP password: never log it. */
  readonly smtpUrl: string | null;
  /** smtp:// must upgrade with STARTTLS (the default); false only when the operator opted out. */
  readonly smtpRequireTls: boolean;
  /** The sender of account mail, e.g. `Conduit <no-reply@conduit.example.com>`; `null` when unset. */
  readonly mailFrom: string | null;
  /** Where an unconfirmed account may not write yet (site.writes): the pages only ('html'), or the API too ('all'). */
  readonly accountConfirmation: 'html' | 'all';
  /** Roles that must have a second factor before any other page works (REQUIRE_TWO_FACTOR_FOR). */
  readonly requireTwoFactorFor: readonly Role[];
  readonly logLevel: string;
  readonly debug: boolean;
  readonly cookieSecure: boolean;
}
