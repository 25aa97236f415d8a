// Messages between the route fuzzer (route-fuzz.ts) and the app process it fuzzes
// (target-entry.ts).
import type { CataloguedRoute } from '../route-catalogue.js';

export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  /** packages/bastion/src/http/query-integer.ts's keyword: a whole number within these bounds, sent as text. */
  readonly queryInteger?: { readonly minimum: number; readonly maximum: number };
}

/** A route as the fuzzer sees it: read as it registered, its schemas as plain data. */
export type FuzzRoute = CataloguedRoute;

/** An account the app process wrote for the fuzzer to speak as, with an API token if the app issues them. */
export interface FuzzAccount {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  readonly token: string | null;
}

export type TargetMessage =
  | { readonly type: 'ready'; readonly routes: FuzzRoute[] }
  | { readonly type: 'cpu'; readonly id: number; readonly micros: number }
  | { readonly type: 'account'; readonly id: number; readonly account?: FuzzAccount; readonly error?: string }
  | { readonly type: 'whois'; readonly id: number; readonly user: { readonly username: string; readonly role: string } | null };

export type ParentMessage =
  | { readonly type: 'cpu'; readonly id: number }
  | { readonly type: 'account'; readonly id: number; readonly role: 'admin' | 'member' }
  /** Who an API token (or, without one, a username) stands for now: the fuzz may have locked, renamed or demoted them. */
  | { readonly type: 'whois'; readonly id: number; readonly token: string | null; readonly username: string };
