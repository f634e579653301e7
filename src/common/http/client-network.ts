import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The smallest IPv6 block one subscriber line is given (RFC 6177; RIPE-690): all of it is one client. */
const IPV6_CLIENT_PREFIX = 64;

/**
 * The key every per-client limit counts under: an IPv4 address as it is (an IPv4-mapped IPv6
 * address, ::ffff:a.b.c.d, as its IPv4 address), an IPv6 address as its /64 in canonical form
 * ("2001:db8:1:2::/64", however it was spelled). A home line holds a whole /64, so a key per full
 * IPv6 address would give one client 2^64 budgets. Only limits use it: audit events and sessions
 * keep the full address. Anything but an address (clientIp's "unknown") is its own key.
 */
export function clientNetworkKey(ip: string): string {
  const family = isIP(ip);
  // Node's isIP admits only canonical dotted quads (no leading zeros), so an IPv4 address is its own
  // key as written: no parse on the hot path (every request passes the general rate limit).
  if (family === 4) return ip;
  if (!family) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const words = (address as ipaddr.IPv6).parts;
  const prefixWords = IPV6_CLIENT_PREFIX / 16;
  const network = new ipaddr.IPv6(words.map((word, i) => (i < prefixWords ? word : 0)));
  return `${network.toString()}/${IPV6_CLIENT_PREFIX}`;
}
