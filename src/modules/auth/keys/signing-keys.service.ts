import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig, ConfigError } from '@/config/app-config';

export interface PublicJwk {
  kty: string;
  n?: string;
  e?: string;
  kid: string;
  alg: 'RS256';
  use: 'sig';
}

/** RS256 needs RSA; under 2048 bits is refused (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;

/** RFC 7638 thumbprint of an RSA public key: stable for the key, so every instance sharing it announces the same kid. */
export function keyThumbprint(publicKey: KeyObject): string {
  const { e, kty, n } = publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
  return createHash('sha256').update(JSON.stringify({ e, kty, n })).digest('base64url');
}

export function publicJwk(publicKey: KeyObject, kid: string): PublicJwk {
  const { kty, n, e } = publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
  return { kty, n, e, kid, alg: 'RS256', use: 'sig' };
}

function requireStrongRsa(key: KeyObject, setting: string, what: string): void {
  if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new ConfigError(setting, `${what} must be an RSA key of at least ${MIN_RSA_BITS} bits (RS256)`);
  }
}

/**
 * The RS256 keys of access tokens, parsed once into KeyObjects (re-parsing a PEM on every request
 * costs several times the verification itself).
 *
 * JWT_PRIVATE_KEYS lists several keys: the first signs, every one verifies and is published, so a
 * rotation never invalidates a token in use. JWT_NEXT_PUBLIC_KEY is published (and verifies) before
 * any instance signs with it: during the rolling restart that makes it first, instances still on
 * the old order accept what the restarted ones sign, and verifiers caching the JWKS already hold it.
 * Without either, JWT_PRIVATE_KEY (or, in development, a key generated into DATA_DIR/keys) is the one key.
 */
@Injectable()
export class SigningKeys {
  /** The key new tokens are signed with. */
  readonly signing: { kid: string; privateKey: KeyObject };
  readonly jwks: { keys: PublicJwk[] };
  private readonly verifying: Map<string, KeyObject>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const { privateKeys, nextPublicKey, privateKeyPem, keyId } = config.tokens;
    const signers = privateKeys
      ? privateKeys.map(({ kid, privateKeyPem: pem }) => ({ kid, privateKey: this.readPrivate(pem, 'JWT_PRIVATE_KEYS', `key "${kid}"`) }))
      : [this.singleKey(privateKeyPem ?? this.developmentKey(config.dataDir), keyId)];
    const published = signers.map(({ kid, privateKey }) => ({ kid, publicKey: createPublicKey(privateKey), setting: 'JWT_PRIVATE_KEYS' }));
    if (nextPublicKey) published.push({ kid: nextPublicKey.kid, publicKey: this.readPublic(nextPublicKey.publicKeyPem), setting: 'JWT_NEXT_PUBLIC_KEY' });

    // The same key under two kids would make "drop the old key" keep it alive under its other name.
    const byThumbprint = new Map<string, string>();
    for (const { kid, publicKey, setting } of published) {
      const other = byThumbprint.get(keyThumbprint(publicKey));
      if (other !== undefined) {
        throw new ConfigError(setting, setting === 'JWT_NEXT_PUBLIC_KEY' ? `is the key of signing key "${other}": the next key must be a new key` : `has the same key under kids "${other}" and "${kid}"`);
      }
      byThumbprint.set(keyThumbprint(publicKey), kid);
    }
    this.signing = signers[0];
    this.verifying = new Map(published.map(({ kid, publicKey }) => [kid, publicKey]));
    this.jwks = { keys: published.map(({ kid, publicKey }) => publicJwk(publicKey, kid)) };
  }

  /** The public key a token's `kid` names, or undefined: an unknown kid is never tried against another key. */
  verificationKey(kid: unknown): KeyObject | undefined {
    return typeof kid === 'string' ? this.verifying.get(kid) : undefined;
  }

  private singleKey(pem: string, keyId: string | null): { kid: string; privateKey: KeyObject } {
    const privateKey = this.readPrivate(pem, 'JWT_PRIVATE_KEY', 'the key');
    return { kid: keyId ?? keyThumbprint(createPublicKey(privateKey)), privateKey };
  }

  private readPrivate(pem: string, setting: string, what: string): KeyObject {
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch {
      throw new ConfigError(setting, `${what} is not a readable PEM private key`);
    }
    requireStrongRsa(key, setting, what);
    return key;
  }

  private readPublic(pem: string): KeyObject {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch {
      throw new ConfigError('JWT_NEXT_PUBLIC_KEY', 'publicKey is not a readable PEM public key');
    }
    // createPublicKey also accepts a private PEM: refuse it, so a private key never ends up in the wrong setting.
    if (/PRIVATE KEY/.test(pem)) throw new ConfigError('JWT_NEXT_PUBLIC_KEY', 'publicKey must be the public key (PEM "PUBLIC KEY"), never the private one');
    requireStrongRsa(key, 'JWT_NEXT_PUBLIC_KEY', 'the next key');
    return key;
  }

  private developmentKey(dataDir: string): string {
    const file = join(dataDir, 'keys', 'jwt-private.pem');
    if (existsSync(file)) return readFileSync(file, 'utf8');
    mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: MIN_RSA_BITS });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    writeFileSync(file, pem, { mode: 0o600 });
    new Logger('SigningKeys').warn(`Generated a development signing key in ${file}; set JWT_PRIVATE_KEY (or JWT_PRIVATE_KEYS) in production`);
    return pem;
  }
}
