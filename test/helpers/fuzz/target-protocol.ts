// Messages between the route fuzzer (test/route-fuzz.test.ts) and the app process it fuzzes
// (target-entry.ts).

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
  /** src/http/query-integer.ts's keyword: a whole number within these bounds, sent as text. */
  readonly queryInteger?: { readonly minimum: number; readonly maximum: number };
}

export interface FuzzRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: { readonly params?: JsonSchema; readonly querystring?: JsonSchema; readonly body?: JsonSchema };
}

export type TargetMessage =
  | { readonly type: 'ready'; readonly routes: FuzzRoute[] }
  | { readonly type: 'cpu'; readonly id: number; readonly micros: number }
  | { readonly type: 'done'; readonly id: number; readonly error?: string };

export type ParentMessage =
  | { readonly type: 'cpu'; readonly id: number }
  | { readonly type: 'role'; readonly id: number; readonly username: string; readonly role: 'admin' | 'moderator' | 'member' };
