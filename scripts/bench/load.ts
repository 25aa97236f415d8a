import autocannon from 'autocannon';

// The load generator: autocannon, in the runner's process, against a server in another.
// Every request carries X-Forwarded-Proto: https and an X-Forwarded-For address, which the app
// believes only because TRUST_PROXY=loopback names the bench as its proxy. Each connection
// cycles through its own block of client addresses, so the per-IP limit (300 per minute) meets
// many clients as it would behind a real proxy, instead of one client that it must refuse.
// The requests are built once (no per-request callback), so spreading costs the generator
// nothing; the baselines get exactly the same requests.

export interface RequestSpec {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface LoadOptions {
  readonly connections: number;
  /** Seconds; ignored when `amount` is set. */
  readonly duration?: number;
  /** Stop after this many responses. */
  readonly amount?: number;
  /** Requests per second over all connections (a steady probe instead of a flood). */
  readonly overallRate?: number;
  /** Which block of client addresses to use (concurrent loads use different blocks). */
  readonly addressBlock?: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
  /** Connection errors, timeouts and non-2xx responses. */
  readonly errors: number;
  /** Non-2xx responses by status, e.g. { "429": 12 }. */
  readonly statuses: Readonly<Record<string, number>>;
}

/** Addresses per connection: 50 connections × 128 = 6,400 clients, room for ~32,000 req/s. */
export const ADDRESSES_PER_CONNECTION = 128;

export function clientAddress(block: number, connection: number, n: number): string {
  return `10.${block & 255}.${connection & 255}.${n & 255}`;
}

export async function runLoad(baseUrl: string, specs: readonly RequestSpec[], options: LoadOptions): Promise<LoadResult> {
  if (specs.length === 0) throw new Error('no requests to send');
  const block = options.addressBlock ?? 0;
  let nextConnection = 0;
  const instance = autocannon({
    url: baseUrl,
    connections: options.connections,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.duration ?? 10 }),
    ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
    timeout: 20,
    // Each connection gets its own prebuilt cycle: the specs in turn, each from a new address.
    setupClient(client) {
      const connection = nextConnection++;
      const count = Math.max(ADDRESSES_PER_CONNECTION, specs.length);
      client.setRequests(
        Array.from({ length: count }, (_, n) => {
          const spec = specs[(n + connection) % specs.length]!;
          return {
            method: spec.method ?? 'GET',
            path: spec.path,
            headers: { 'x-forwarded-for': clientAddress(block, connection, n), 'x-forwarded-proto': 'https', ...spec.headers },
            ...(spec.body !== undefined ? { body: spec.body } : {}),
          };
        }),
      );
    },
  });
  const result = await instance;
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    if (!code.startsWith('2') && stat.count) statuses[code] = stat.count;
  }
  const responses = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  return {
    requests: responses,
    rps: responses / Math.max(result.duration, 0.001),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    statuses,
  };
}
