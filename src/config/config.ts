// The typed, frozen configuration every other module receives. Built once by load-config.ts.

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
  readonly logLevel: string;
  readonly debug: boolean;
  readonly cookieSecure: boolean;
}
