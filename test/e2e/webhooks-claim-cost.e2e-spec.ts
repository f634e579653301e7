import { randomUUID } from 'node:crypto';
import { WebhookDeliveriesService } from '@/modules/events/webhooks/webhook-deliveries.service';
import { createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { countStatements } from '../helpers/statement-counter';
import { backend, TestApp } from '../helpers/test-app';

jest.setTimeout(120_000);

// The handler counters are MariaDB's (SQLite has none to read).
const describeOnMysql = backend.mysqlUrl ? describe : describe.skip;

const USERS = 100;
const OPEN_PER_USER = 3;
const HISTORY_PER_USER = 100;
const OPEN = USERS * OPEN_PER_USER;
/** What a claim may look at per open delivery (about 7 here: the heads' pass, the candidates, the join, the sort), with room to spare. */
const READS_PER_OPEN_ROW = 15;

/**
 * What a claim costs the database, counted in rows and index entries the storage engine looks at
 * (MariaDB's Handler_read_* and Handler_icp_attempts status counters), not in time. A claim finds each
 * user's head delivery in one pass over the open deliveries (MIN(event_seq) per endpoint and user), so
 * it looks at a few rows per open delivery however much was delivered before. The query it replaced
 * (NOT EXISTS an earlier open row of the same user, per open row; commit 44c0225) walked each user's
 * delivered history through the order index for every open row: on MariaDB 10.11 here, about 2,200
 * before the history and 32,000 after it (the index entries checked and dropped by the pushed-down
 * condition), against about 2,200 and 2,500 now.
 */
describeOnMysql('What a webhook claim reads on MariaDB: a few rows per open delivery, not per delivered one', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  let deliveries: WebhookDeliveriesService;
  let endpointId: string;
  const users = Array.from({ length: USERS }, () => randomUUID());

  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }));
    deliveries = t.app.get(WebhookDeliveriesService);
    endpointId = (await t.http.post('/api/v1/admin/webhooks').set(admin.auth).send({ url: 'http://127.0.0.1:9/claims', events: ['*'] }).expect(201)).body.data.id;
  });
  afterAll(() => t.close());

  /** Delivery rows of every user: `perUser` with status `status`, their event seqs from `firstSeq` on (per user, a block of its own). */
  async function insertDeliveries(status: 'delivered' | 'pending', perUser: number, firstSeq: number): Promise<void> {
    const due = new Date(t.clock.now() - 60_000);
    const rows: unknown[][] = [];
    for (const [u, userId] of users.entries()) {
      for (let i = 0; i < perUser; i++) rows.push([randomUUID(), firstSeq + u * 100_000 + i, randomUUID(), endpointId, userId, 'user.updated', status, status === 'delivered' ? 1 : 0, due, due]);
    }
    for (let i = 0; i < rows.length; i += 500) {
      const batch = rows.slice(i, i + 500);
      await t.db.query(
        `INSERT INTO webhook_deliveries (id, event_seq, event_id, endpoint_id, user_id, type, status, attempts, next_attempt_at, created_at) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        batch.flat(),
      );
    }
    await t.db.query('ANALYZE TABLE webhook_deliveries');
  }

  /**
   * Rows read by a claim: the claim runs once to take down the SQL it sends (text and parameters); its
   * claims are undone, and its SELECTs are sent again on one connection between two readings of that
   * connection's counters.
   */
  async function rowsReadByClaim(): Promise<{ read: number; claimed: number }> {
    const counter = countStatements(t.db);
    let round;
    try {
      round = await deliveries.claim(USERS * OPEN_PER_USER);
    } finally {
      counter.stop();
    }
    await t.db.query("UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL, leased_by = NULL, attempts = 0 WHERE status = 'delivering'");
    const selects = counter.calls.filter((call) => /^\s*SELECT/i.test(call.query));
    expect(selects.length).toBeGreaterThan(0);
    const runner = t.db.createQueryRunner();
    try {
      // Rows handed over (Handler_read_*), and index entries checked against a pushed-down condition
      // (Handler_icp_attempts): those the engine looks at and drops never count as read.
      const reads = async () =>
        ((await runner.query("SHOW SESSION STATUS WHERE Variable_name LIKE 'Handler_read%' OR Variable_name = 'Handler_icp_attempts'")) as { Variable_name: string; Value: string }[]).reduce(
          (sum, row) => sum + Number(row.Value),
          0,
        );
      const before = await reads();
      for (const call of selects) await runner.query(call.query, call.parameters);
      return { read: (await reads()) - before, claimed: round.deliveries.length };
    } finally {
      await runner.release();
    }
  }

  it(`${OPEN} open deliveries of ${USERS} users: a claim reads at most ${READS_PER_OPEN_ROW} rows per open delivery, and no more once ${USERS * HISTORY_PER_USER} delivered rows lie behind them`, async () => {
    // The open rows come after each user's history (higher seqs), so each is preceded by all of it.
    await insertDeliveries('pending', OPEN_PER_USER, 50_000);
    const fresh = await rowsReadByClaim();
    // One head per user is due (the rest wait behind it, in order).
    expect(fresh.claimed).toBe(USERS);
    expect(fresh.read).toBeLessThan(READS_PER_OPEN_ROW * OPEN);

    await insertDeliveries('delivered', HISTORY_PER_USER, 1);
    const withHistory = await rowsReadByClaim();
    expect(withHistory.claimed).toBe(USERS);
    expect(withHistory.read).toBeLessThan(READS_PER_OPEN_ROW * OPEN);
    // The delivered rows cost nothing: what was read is about what was read without them.
    expect(withHistory.read).toBeLessThan(1.5 * fresh.read + 100);
  });
});
