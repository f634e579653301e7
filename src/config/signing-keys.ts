import { createHash, createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
// A cycle with app-config (which calls parseSigningKeys): ConfigError is only used when a check fails, long after both loaded.
import { AppConfig, ConfigError } from './app-config';

/** RS256 needs RSA; under 2048 bits is refused (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;

export interface ParsedSigningKeys {
  /** In order: the first signs. */
  signers: { kid: string; privateKey: KeyObject }[];
  /** Every key that verifies and is published: the signers', then the next key. */
  published: { kid: string; publicKey: KeyObject }[];
}

/** RFC 7638 thumbprint of an RSA public key: stable for the key, so every instance sharing it announces the same kid. */
export function keyThumbprint(publicKey: KeyObject): string {
  const { e, kty, n } = publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
  return createHash('sha256').update(JSON.stringify({ e, kty, n })).digest('base64url');
}

function requireStrongRsa(key: KeyObject, setting: string, what: string): void {
  if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new ConfigError(setting, `${what} must be an RSA key of at least ${MIN_RSA_BITS} bits (RS256)`);
  }
}

function readPrivate(pem: string, setting: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ConfigError(setting, `${what} is not a readable PEM private key`);
  }
  requireStrongRsa(key, setting, what);
  return key;
}

function readPublic(pem: string): KeyObject {
  // createPublicKey also accepts a private PEM: refuse it, so a private key never sits in a "public" setting.
  if (/PRIVATE KEY/.test(pem)) throw new ConfigError('JWT_NEXT_PUBLIC_KEY', 'publicKey must be the public key (PEM "PUBLIC KEY"), never the private one');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new ConfigError('JWT_NEXT_PUBLIC_KEY', 'publicKey is not a readable PEM public key');
  }
  requireStrongRsa(key, 'JWT_NEXT_PUBLIC_KEY', 'the next key');
  return key;
}

/**
 * Parses and checks the signing-key settings: readable PEMs, RSA of at least 2048 bits, no key under
 * two kids, a next key that is not a signing key. loadConfig runs it (so a bad key stops start-up with
 * one line, before the application is built) and SigningKeys builds its keys with it.
 * `developmentPem` stands in for the single key when none is set (the key generated into DATA_DIR);
 * without it, only the configured keys are checked.
 */
export function parseSigningKeys(tokens: Pick<AppConfig['tokens'], 'privateKeys' | 'nextPublicKey' | 'privateKeyPem' | 'keyId'>, developmentPem: string | null): ParsedSigningKeys {
  const { privateKeys, nextPublicKey, privateKeyPem, keyId } = tokens;
  const single = privateKeyPem ?? developmentPem;
  const signers = privateKeys
    ? privateKeys.map(({ kid, privateKeyPem: pem }) => ({ kid, privateKey: readPrivate(pem, 'JWT_PRIVATE_KEYS', `key "${kid}"`) }))
    : single
      ? [singleKey(single, keyId)]
      : [];
  const published = signers.map(({ kid, privateKey }) => ({ kid, publicKey: createPublicKey(privateKey), setting: privateKeys ? 'JWT_PRIVATE_KEYS' : 'JWT_PRIVATE_KEY' }));
  if (nextPublicKey) published.push({ kid: nextPublicKey.kid, publicKey: readPublic(nextPublicKey.publicKeyPem), setting: 'JWT_NEXT_PUBLIC_KEY' });

  // The same key under two kids would make "drop the old key" keep it alive under its other name.
  const byThumbprint = new Map<string, string>();
  for (const { kid, publicKey, setting } of published) {
    const thumbprint = keyThumbprint(publicKey);
    const other = byThumbprint.get(thumbprint);
    if (other !== undefined) {
      throw new ConfigError(setting, setting === 'JWT_NEXT_PUBLIC_KEY' ? `is the key of signing key "${other}": the next key must be a new key` : `has the same key under kids "${other}" and "${kid}"`);
    }
    byThumbprint.set(thumbprint, kid);
  }
  return { signers, published: published.map(({ kid, publicKey }) => ({ kid, publicKey })) };
}

function singleKey(pem: string, keyId: string | null): { kid: string; privateKey: KeyObject } {
  const privateKey = readPrivate(pem, 'JWT_PRIVATE_KEY', 'the key');
  return { kid: keyId ?? keyThumbprint(createPublicKey(privateKey)), privateKey };
}
