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

/**
 * The RS256 key pair that signs access tokens, parsed once into KeyObjects (re-parsing a PEM on
 * every request costs several times the verification itself). Production reads JWT_PRIVATE_KEY;
 * a development run generates a key into DATA_DIR/keys on first start and reuses it afterwards.
 */
@Injectable()
export class SigningKeys {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId: string;
  readonly jwks: { keys: PublicJwk[] };

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const pem = config.tokens.privateKeyPem ?? this.developmentKey(config.dataDir);
    try {
      this.privateKey = createPrivateKey(pem);
    } catch {
      throw new ConfigError('JWT_PRIVATE_KEY', 'is not a readable PEM private key');
    }
    if (this.privateKey.asymmetricKeyType !== 'rsa' || (this.privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new ConfigError('JWT_PRIVATE_KEY', 'must be an RSA key of at least 2048 bits (RS256)');
    }
    this.publicKey = createPublicKey(this.privateKey);
    const jwk = this.publicKey.export({ format: 'jwk' }) as { kty: string; n: string; e: string };
    // RFC 7638 thumbprint: stable for the key, so every instance sharing it announces the same kid.
    this.keyId = config.tokens.keyId ?? createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');
    this.jwks = { keys: [{ kty: jwk.kty, n: jwk.n, e: jwk.e, kid: this.keyId, alg: 'RS256', use: 'sig' }] };
  }

  private developmentKey(dataDir: string): string {
    const file = join(dataDir, 'keys', 'jwt-private.pem');
    if (existsSync(file)) return readFileSync(file, 'utf8');
    mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    writeFileSync(file, pem, { mode: 0o600 });
    new Logger('SigningKeys').warn(`Generated a development signing key in ${file}; set JWT_PRIVATE_KEY in production`);
    return pem;
  }
}
