import { randomUUID } from 'node:crypto';
import type { QueryRunner } from 'typeorm';

/** How both drivers store a datetime written by the app: UTC, millisecond precision, no zone suffix. */
const utc = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '');
/** Keys from before v1.1 had no expiry; they get the default lifetime of a new key from the upgrade on. */
const MIGRATED_KEY_DAYS = 90;

/**
 * The one key per user of v1.0 (users.api_key_hash) becomes a key named "default" with both scopes,
 * as the deprecated POST /users/me/api-key makes. Used by the api_keys migration of both drivers.
 */
export async function copyLegacyApiKeys(db: QueryRunner): Promise<void> {
  const now = new Date();
  const expires = new Date(now.getTime() + MIGRATED_KEY_DAYS * 86_400_000);
  const rows: { id: string; api_key_hash: string }[] = await db.query(`SELECT id, api_key_hash FROM users WHERE api_key_hash IS NOT NULL`);
  for (const row of rows) {
    await db.query(
      `INSERT INTO api_keys (id, user_id, name, key_hash, scopes, expires_at, last_used_at, created_at) VALUES (?, ?, 'default', ?, 'profile:read profile:write', ?, NULL, ?)`,
      [randomUUID(), row.id, row.api_key_hash, utc(expires), utc(now)],
    );
  }
}

/** The way back: each account's newest "default" key returns to users.api_key_hash. */
export const RESTORE_LEGACY_API_KEYS = `UPDATE users SET api_key_hash = (SELECT key_hash FROM api_keys WHERE api_keys.user_id = users.id AND api_keys.name = 'default' ORDER BY created_at DESC LIMIT 1)`;
