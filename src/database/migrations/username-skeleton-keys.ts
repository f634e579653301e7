import { Logger } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { isOneWritingSystem, usernameSkeleton } from '@/modules/users/username-confusables';

interface Row {
  id: string;
  username: string;
  username_key: string;
}

/** Sets each row's key in two passes (first to a placeholder no real key can equal), so no update trips the unique index half-way. */
async function setKeys(db: QueryRunner, keys: Map<string, string>, rows: Row[]): Promise<void> {
  const changed = rows.filter((row) => keys.get(row.id) !== row.username_key);
  for (const row of changed) await db.query('UPDATE users SET username_key = ? WHERE id = ?', [`~${row.id}`, row.id]);
  for (const row of changed) await db.query('UPDATE users SET username_key = ? WHERE id = ?', [keys.get(row.id), row.id]);
}

async function allRows(db: QueryRunner): Promise<Row[]> {
  return db.query('SELECT id, username, username_key FROM users ORDER BY created_at, id');
}

/**
 * Re-keys every username by its confusable skeleton (Unicode TS #39), the same on both drivers.
 * Accounts created before this rule may share a skeleton (`rootadmin` and `rооtadmin`); only one can
 * hold it: the one whose old key already was the skeleton, else the oldest spelling today's rules
 * accept (one writing system), else the oldest. The others keep their old key (or a placeholder when
 * that is now another's skeleton), so nothing fails and nobody loses an account; they are logged (by
 * id) for an operator to rename, and sign in by email or phone meanwhile.
 */
export async function rekeyUsernamesBySkeleton(db: QueryRunner): Promise<void> {
  const rows = await allRows(db);
  const bySkeleton = new Map<string, Row[]>();
  for (const row of rows) {
    const skeleton = usernameSkeleton(row.username);
    bySkeleton.set(skeleton, [...(bySkeleton.get(skeleton) ?? []), row]);
  }
  const keys = new Map<string, string>();
  const kept: Row[] = [];
  for (const [skeleton, group] of bySkeleton) {
    const holder = group.find((row) => row.username_key === skeleton) ?? group.find((row) => isOneWritingSystem(row.username)) ?? group[0];
    keys.set(holder.id, skeleton);
    kept.push(...group.filter((row) => row !== holder));
  }
  // A kept old key that is now someone's skeleton (`adrnin` beside an older `admin`) gives way to a placeholder.
  const taken = new Set(keys.values());
  for (const row of kept) keys.set(row.id, taken.has(row.username_key) ? `~${row.id}` : row.username_key);
  await setKeys(db, keys, rows);
  if (kept.length) new Logger('Migrations').warn(`${kept.length} username(s) look like another account's and keep their old key; rename them: ${kept.map((row) => row.id).join(', ')}`);
}

/** The previous rule (NFKC, lower case, NFKC), for going back. */
export async function rekeyUsernamesByCase(db: QueryRunner): Promise<void> {
  const rows = await allRows(db);
  await setKeys(db, new Map(rows.map((row) => [row.id, row.username.normalize('NFKC').toLowerCase().normalize('NFKC')])), rows);
}
