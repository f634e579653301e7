import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { MIN_RSA_BITS, parseSigningKeys } from '@/config/signing-keys';

export { keyThumbprint, MIN_RSA_BITS } from '@/config/signing-keys';

export interface PublicJwk {
  kty: string;
  n?: string;
  e?: string;
  kid: string;
  alg: 'RS256';
  use: 'sig';
}

export function publicJwk(publicKey: KeyObject, kid: string): PublicJwk {
  const { kty, n, e } = publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
  return { kty, n, e, kid, alg: 'RS256', use: 'sig' };
}

/**
 * The RS256 keys of access tokens, parsed once into KeyObjects (re-parsing a PEM on every request
 * costs several times the verification itself).
 *
 * JWT_PRIVATE_KEYS lists several keys: the first signs, every one verifies and is published, so a
 * rotation never invalidates a token in use. JWT_NEXT_PUBLIC_KEY is published (and verifies) before
 * any instance signs with it: during the rolling restart that makes it first, instances still on
 * the old order accept what the restarted ones sign, and verifiers caching the JWKS already hold it.
 * Without either, JWT_PRIVATE_KEY (or, in development, a key generated into DATA_DIR/keys) is the one
 * key. loadConfig has checked the configured keys already (parseSigningKeys).
 */
@Injectable()
export class SigningKeys {
  /** The key new tokens are signed with. */
  readonly signing: { kid: string; privateKey: KeyObject };
  readonly jwks: { keys: PublicJwk[] };
  private readonly verifying: Map<string, KeyObject>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const configured = config.tokens.privateKeys || config.tokens.privateKeyPem;
    const { signers, published } = parseSigningKeys(config.tokens, configured ? null : this.developmentKey(config.dataDir));
    this.signing = signers[0];
    this.verifying = new Map(published.map(({ kid, publicKey }) => [kid, publicKey]));
    this.jwks = { keys: published.map(({ kid, publicKey }) => publicJwk(publicKey, kid)) };
  }

  /** The public key a token's `kid` names, or undefined: an unknown kid is never tried against another key. */
  verificationKey(kid: unknown): KeyObject | undefined {
    return typeof kid === 'string' ? this.verifying.get(kid) : undefined;
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
