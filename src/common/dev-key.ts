import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';

/**
 * A 32-byte development key kept in DATA_DIR/keys/<fileName>, generated on the first run, so a
 * restart does not invalidate what it signed. Production sets the named setting instead (config
 * refuses to start without it), since instances must share one key.
 */
export function loadOrCreateDevKey(dataDir: string, fileName: string, setting: string, context: string): Buffer {
  const file = join(dataDir, 'keys', fileName);
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600 });
  new Logger(context).warn(`Generated a development key in ${file}; set ${setting} in production`);
  return key;
}
