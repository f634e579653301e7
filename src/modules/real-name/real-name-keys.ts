import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig, RealNameKey } from '@/config/app-config';

interface DevelopmentKeys {
  encryptionKey: { id: string; key: string };
  indexKey: string;
}

/**
 * The keys that protect ID-card data, kept outside the database: REAL_NAME_ENCRYPTION_KEY(S)
 * and REAL_NAME_INDEX_KEY in production; a development run generates both into
 * DATA_DIR/keys/real-name-keys.json on first start and reuses them afterwards.
 */
@Injectable()
export class RealNameKeys {
  /** Encrypts every new record. */
  readonly current: RealNameKey;
  /** Every configured key by id: older records keep decrypting after a rotation. */
  readonly byId: ReadonlyMap<string, Buffer>;
  /** HMAC key of the blind index; changing it would hide every existing binding. */
  readonly indexKey: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    let keys = config.realName.encryptionKeys;
    let indexKey = config.realName.indexKey;
    if (!keys.length || !indexKey) {
      const development = this.developmentKeys(config.dataDir);
      if (!keys.length) keys = [{ id: development.encryptionKey.id, key: Buffer.from(development.encryptionKey.key, 'base64') }];
      indexKey ??= Buffer.from(development.indexKey, 'base64');
    }
    this.current = keys[0];
    this.byId = new Map(keys.map((key) => [key.id, key.key]));
    this.indexKey = indexKey;
  }

  private developmentKeys(dataDir: string): DevelopmentKeys {
    const file = join(dataDir, 'keys', 'real-name-keys.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevelopmentKeys;
    mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    const keys: DevelopmentKeys = {
      encryptionKey: { id: 'dev', key: randomBytes(32).toString('base64') },
      indexKey: randomBytes(32).toString('base64'),
    };
    writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
    new Logger('RealNameKeys').warn(`Generated development real-name keys in ${file}; set REAL_NAME_ENCRYPTION_KEY and REAL_NAME_INDEX_KEY in production`);
    return keys;
  }
}
