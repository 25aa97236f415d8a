import proxyAddr from '@fastify/proxy-addr';
import type { Config } from '../config/config.js';

// Which peers' X-Forwarded-* headers are believed (TRUST_PROXY). For a list of addresses and
// ranges this is exactly the check Fastify would compile itself (its own proxy-addr), with the
// answer remembered per address: Fastify asks on every read of request.ip and request.protocol
// (the HTTPS redirect, the rate limit, the log line), each time parsing the address anew, which
// cost ~8% of a trivial request behind a proxy. The answer for an address never changes.

type TrustFn = (address: string, hop: number) => boolean;

// The proxy-addr Fastify itself uses, so the rule cannot drift from Fastify's: package.json
// declares it with Fastify's own range, and packages/bastion/test/trust-proxy-module.test.ts checks that both
// resolve to the one copy.

/** At most this many addresses are remembered; others are checked each time (an attacker's spread of addresses cannot grow memory). */
export const TRUST_MEMO_SIZE = 1024;

export function trustProxyOption(value: Config['trustProxy']): false | TrustFn {
  if (value === false) return false;
  // A hop count means: believe the n nearest hops (the same rule Fastify applies to a number).
  if (typeof value === 'number') return (_address, hop) => hop < value;
  const trusted = proxyAddr.compile([...value]);
  const memo = new Map<string, boolean>();
  // A list's answer depends on the address only (proxy-addr ignores the hop for it), so the memo is per address.
  return (address, hop) => {
    let answer = memo.get(address);
    if (answer === undefined) {
      answer = trusted(address, hop);
      if (memo.size < TRUST_MEMO_SIZE) memo.set(address, answer);
    }
    return answer;
  };
}
