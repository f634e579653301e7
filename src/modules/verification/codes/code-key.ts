import { createHash } from 'node:crypto';
import { loadOrCreateDevKey } from '@/common/dev-key';

/**
 * The HMAC key for stored codes: CODE_HMAC_KEY in production (required there), otherwise one
 * generated into DATA_DIR/keys on the first run, so a restart does not invalidate pending codes.
 */
export function loadCodeHmacKey(configured: string | null, dataDir: string): Buffer {
  if (configured) return createHash('sha256').update(configured).digest();
  return loadOrCreateDevKey(dataDir, 'code-hmac.key', 'CODE_HMAC_KEY', 'VerificationCodes');
}
