import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';

/**
 * The HMAC key for stored codes: CODE_HMAC_KEY in production (required there), otherwise one
 * generated into DATA_DIR/keys on the first run, so a restart does not invalidate pending codes.
 */
export function loadCodeHmacKey(configured: string | null, dataDir: string): Buffer {
  if (configured) return createHash('sha256').update(configured).digest();
  const file = join(dataDir, 'keys', 'code-hmac.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600 });
  new Logger('VerificationCodes').warn(`Generated a development code key in ${file}; set CODE_HMAC_KEY in production`);
  return key;
}
