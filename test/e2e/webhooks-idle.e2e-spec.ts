import { EndpointPresence, PRESENCE_KEY, PRESENCE_TTL_MS } from '@/modules/events/webhooks/endpoint-presence';
import { WebhookDeliveriesService } from '@/modules/events/webhooks/webhook-deliveries.service';
import { createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { signedInUser } from '../factories/users';
import { TestApp } from '../helpers/test-app';
import { countStatements } from '../helpers/statement-counter';
import { WebhookReceiver } from '../helpers/webhook-receiver';

const API = '/api/v1/admin/webhooks';
const POLL_MS = 20;
/**
 * One idle check, on either backend: SELECT an enabled endpoint (none), then under the lock [GET_LOCK,]
 * BEGIN, SELECT it again, UPDATE the outbox, COMMIT[, RELEASE_LOCK].
 */
const ONE_CHECK = 7;
/** What taking the endpoints' lock sends: the named lock on MariaDB, a transaction on either backend. */
const LOCKING = /GET_LOCK|RELEASE_LOCK|START TRANSACTION|BEGIN/i;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * The delivery worker, running on its own timer (WEBHOOK_POLL_INTERVAL_MS=20), with no endpoint
 * enabled: its rounds read one shared key and no table, the database is asked at most every
 * PRESENCE_TTL_MS, and the events written meanwhile are marked dispatched with no delivery; an
 * endpoint created (here or on another instance: webhooks-instances) is delivered to at the next round.
 * Every SQL statement the app sends is counted through the data source's logger.
 */
describe('The webhook worker with no endpoint enabled', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  let hooks: WebhookReceiver;
  let deliveries: WebhookDeliveriesService;
  let presence: EndpointPresence;
  let statements: string[] = [];

  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin({ WEBHOOK_WORKER: 'true', WEBHOOK_POLL_INTERVAL_MS: String(POLL_MS), WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }));
    hooks = await new WebhookReceiver(() => t.clock.now()).start();
    deliveries = t.app.get(WebhookDeliveriesService);
    presence = t.app.get(EndpointPresence);
    ({ statements } = countStatements(t.db));
  }, 120_000);
  afterAll(async () => {
    await hooks.stop();
    await t.close();
  });
  afterEach(() => jest.restoreAllMocks());

  /** What the worker does in `ms` of real time, nothing else running. */
  const watch = async (ms: number, first?: () => Promise<void>) => {
    const [rounds, dispatches, claims] = [jest.spyOn(presence, 'anyEnabled'), jest.spyOn(deliveries, 'dispatch'), jest.spyOn(deliveries, 'claim')];
    statements.length = 0;
    await first?.();
    await sleep(ms);
    const seen = { rounds: rounds.mock.calls.length, dispatches: dispatches.mock.calls.length, claims: claims.mock.calls.length, statements: [...statements] };
    jest.restoreAllMocks();
    return seen;
  };
  const eventsOf = async (userId: string) =>
    (await t.db.query('SELECT id, dispatched_at FROM events WHERE user_id = ? ORDER BY seq', [userId])) as { id: string; dispatched_at: string | Date | null }[];

  it('reads no table while idle: a second of rounds makes no dispatch and no claim, and at most one check of the database', async () => {
    await until(async () => (await t.kv.get(PRESENCE_KEY)) === '0', 'the start-up check');
    const idle = await watch(1000);
    // ~50 rounds ran (a loaded machine runs fewer), each a read of the shared key only.
    expect(idle.rounds).toBeGreaterThan(10);
    expect([idle.dispatches, idle.claims]).toEqual([0, 0]);
    // Under Redis the cached answer lives PRESENCE_TTL_MS of real time, so one check may fall in the second.
    expect(idle.statements.length).toBeLessThanOrEqual(ONE_CHECK);
  });

  it('marks the events written while idle dispatched, with no delivery row, once the cached answer runs out', async () => {
    const user = await signedInUser(t);
    await t.http.patch('/api/v1/users/me').set(user.auth).send({ intro: 'written while idle' }).expect(200);
    expect((await eventsOf(user.user.id)).map((event) => event.dispatched_at)).toEqual([null, null]);
    await t.passTime(PRESENCE_TTL_MS + 1000);
    await until(async () => (await eventsOf(user.user.id)).every((event) => event.dispatched_at !== null), 'the idle sweep');
    expect(await t.db.query('SELECT id FROM webhook_deliveries')).toEqual([]);
  });

  it('delivers at the next round once an endpoint is created (only what was written after it), polls while it is enabled, and is idle again once it is disabled', async () => {
    const before = await signedInUser(t);
    await t.passTime(PRESENCE_TTL_MS + 1000);
    await until(async () => (await eventsOf(before.user.id)).every((event) => event.dispatched_at !== null), 'the idle sweep');

    const endpoint = (await t.http.post(API).set(admin.auth).send({ url: hooks.url, events: ['*'] }).expect(201)).body.data;
    hooks.secrets = [endpoint.secret];
    const after = await signedInUser(t);
    const written = Date.now();
    await hooks.waitFor(1, PRESENCE_TTL_MS);
    // Well inside PRESENCE_TTL_MS: the worker was told, it did not wait for its cached "none" to run out.
    expect(Date.now() - written).toBeLessThan(2000);
    expect(hooks.received.map((hook) => [hook.body.type, hook.body.data.userId, hook.verifiedWith.length])).toEqual([['user.created', after.user.id, 1]]);

    const active = await watch(500);
    expect(active.dispatches).toBeGreaterThan(5);
    // Each round polls the outbox and the deliveries: what an idle round no longer does. (The round in
    // flight when the window closes may have made its dispatch and not yet its claim: one less.)
    expect(active.statements.length).toBeGreaterThanOrEqual(2 * active.dispatches - 1);
    expect(active.statements.filter((sql) => LOCKING.test(sql))).toEqual([]);

    // The shared answer runs out (every PRESENCE_TTL_MS) while the endpoint is enabled: the next round
    // finds it with a plain read and takes no lock, there being nothing to sweep.
    const expired = await watch(500, async () => {
      await t.passTime(PRESENCE_TTL_MS + 1000);
      expect(await t.kv.get(PRESENCE_KEY)).toBeNull();
    });
    expect(await t.kv.get(PRESENCE_KEY)).toBe('1');
    expect(expired.rounds).toBeGreaterThan(0);
    expect(expired.statements.filter((sql) => /webhook_endpoints/.test(sql) && /EXISTS/i.test(sql))).toHaveLength(1);
    expect(expired.statements.filter((sql) => LOCKING.test(sql))).toEqual([]);

    await t.http.patch(`${API}/${endpoint.id}`).set(admin.auth).send({ enabled: false }).expect(200);
    await until(async () => (await t.kv.get(PRESENCE_KEY)) === '0', 'the check after the endpoint was disabled');
    const idleAgain = await watch(500);
    expect([idleAgain.dispatches, idleAgain.claims]).toEqual([0, 0]);
    expect(idleAgain.statements.length).toBeLessThanOrEqual(ONE_CHECK);
    expect(hooks.received).toHaveLength(1);
  });
});
