import ipaddr from 'ipaddr.js';

// Who a per-IP limit (SPEC §3) counts. An IPv4 address is one client. An IPv6 host is given a
// whole /64 (SLAAC, and privacy addresses that change by the hour, all come from it), so it
// can send every request from a new address: counted per address, "5 failed logins per minute
// per IP" would be no limit at all for anyone on IPv6. IPv6 clients are counted per /64, the
// smallest block one host can be expected to hold; an IPv4-mapped IPv6 address
// (::ffff:192.0.2.1, what a dual-stack socket reports) is its IPv4 client.
// Some proxies write the client's source port into X-Forwarded-For ("192.0.2.1:51234",
// "[2001:db8::1]:443"); the port changes with every connection, so it is dropped before counting.
// The audit log and the session list still show the full address: only the counting groups.

export const IPV6_CLIENT_PREFIX_LENGTH = 64;

/** At most this many keys of IPv6 (or port-bearing) text are remembered (parsing costs on every limited request); others are computed each time. */
const MEMO_SIZE = 1024;
const MEMO_TEXT_MAX = 64;
const memo = new Map<string, string>();

/** The key a per-IP limit counts `ip` under. */
export function clientKey(ip: string): string {
  // IPv4 without a port (the common case) as it is: nothing to group, nothing to parse.
  if (!ip.includes(':')) return ip;
  let key = memo.get(ip);
  if (key === undefined) {
    key = keyOf(ip);
    // Longer text is no address (a misconfigured TRUST_PROXY can let a client write it): not kept.
    if (memo.size < MEMO_SIZE && ip.length <= MEMO_TEXT_MAX) memo.set(ip, key);
  }
  return key;
}

const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED = /^\[([^\]]+)\](?::\d{1,5})?$/;

/** Everything but a bare IPv4 address: with a port, IPv6 (bracketed or not), or text. */
function keyOf(written: string): string {
  const withPort = IPV4_WITH_PORT.exec(written);
  if (withPort) return withPort[1]!;
  const ip = BRACKETED.exec(written)?.[1] ?? written;
  // Not an address Node or the trusted proxy would give: counted as the text it is.
  if (!ipaddr.isValid(ip)) return written;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const network = (address as ipaddr.IPv6).parts.slice(0, IPV6_CLIENT_PREFIX_LENGTH / 16).map((part) => part.toString(16));
  return `${network.join(':')}::/${IPV6_CLIENT_PREFIX_LENGTH}`;
}
