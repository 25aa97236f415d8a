import { Agent, request } from 'node:http';
import { clientAddress, type LoadResult, type RequestSpec } from './load.js';

// The latency probe: GET requests at a steady rate, each sent on schedule whatever the ones
// before it are doing (open loop, up to `connections` keep-alive sockets), its latency timed
// from its own send to its last byte. autocannon's rate-limited mode was tried first and
// measured itself: against an idle bare Fastify at 100 req/s over 5 connections it reported
// p99 22 ms (1 connection: 2 ms), and with 1 connection a single slow answer held back every
// request queued behind it, which were all counted slow.

export interface ProbeOptions {
  readonly connections: number;
  readonly duration: number;
  readonly overallRate: number;
  readonly addressBlock: number;
}

export async function runProbe(baseUrl: string, specs: readonly RequestSpec[], options: ProbeOptions): Promise<LoadResult> {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  const one = (n: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const spec = specs[n % specs.length]!;
      const t = performance.now();
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: spec.path,
          method: 'GET',
          agent,
          timeout: 20_000,
          headers: {
            'x-forwarded-for': clientAddress(options.addressBlock, n % 256, n >> 8),
            'x-forwarded-proto': 'https',
            ...spec.headers,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - t);
            const code = res.statusCode ?? 0;
            if (code < 200 || code > 299) {
              errors++;
              statuses[code] = (statuses[code] ?? 0) + 1;
            }
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  // Each request leaves at its scheduled time: n / rate seconds after the start.
  const total = Math.round(options.duration * options.overallRate);
  while (sent < total) {
    const due = started + (sent * 1000) / options.overallRate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = one(sent++);
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  const seconds = (performance.now() - started) / 1000;
  return { requests: latencies.length, rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), errors, statuses };
}
