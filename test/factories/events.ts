import type { TestApp } from '../helpers/test-app';

export interface OutboxRow {
  id: string;
  type: string;
  data: Record<string, unknown>;
  createdAt: string;
}

/** The outbox rows about one user, in the order they were written (contract §12). */
export async function outboxEvents(t: TestApp, userId: string): Promise<OutboxRow[]> {
  const rows: { id: string; type: string; data: string; created_at: string | Date }[] = await t.db.query('SELECT id, type, data, created_at FROM events WHERE user_id = ? ORDER BY seq', [userId]);
  return rows.map((row) => ({ id: row.id, type: row.type, data: JSON.parse(row.data) as Record<string, unknown>, createdAt: String(row.created_at) }));
}

/** Just the types, in order. */
export const outboxTypes = async (t: TestApp, userId: string) => (await outboxEvents(t, userId)).map((event) => event.type);
