import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

const FETCH_TIMEOUT_MS = 5_000;

/** Loopback, private, link-local, CGNAT, unspecified and unique-local addresses: never fetched from a provider's URL. */
export function isPrivateAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) {
    const [a, b] = v4.split('.').map(Number);
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
  }
  const v6 = address.toLowerCase();
  return v6 === '::' || v6 === '::1' || v6.startsWith('fc') || v6.startsWith('fd') || v6.startsWith('fe80');
}

/**
 * Downloads a provider's avatar picture so it can be re-encoded and stored as ours (never hot-linked).
 * The URL comes from the provider's answer, which a person can often set: http(s) only, no redirects,
 * a public host (every resolved address checked) unless `allowPrivate` (tests), bounded in time and
 * size. Null when any of that fails: a missing avatar never blocks a sign-in.
 */
export async function fetchProviderAvatar(url: string, maxBytes: number, allowPrivate: boolean): Promise<Buffer | null> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return null;
  }
  if (target.protocol !== 'https:' && !(allowPrivate && target.protocol === 'http:')) return null;
  if (!allowPrivate) {
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((entry) => entry.address);
    if (!addresses.length || addresses.some(isPrivateAddress)) return null;
  }
  try {
    const response = await fetch(target, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok || !response.body || !(response.headers.get('content-type') ?? '').startsWith('image/')) return null;
    if (Number(response.headers.get('content-length') ?? 0) > maxBytes) return null;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) return null;
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks);
  } catch {
    return null;
  }
}
