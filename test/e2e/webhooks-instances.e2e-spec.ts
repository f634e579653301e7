import Redis from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { PRESENCE_KEY, PRESENCE_TTL_MS } from '@/modules/events/webhooks/endpoint-presence';
import { FIRST_ADMIN, firstAdminEnv } from '../factories/admin';
import { DEFAULT_PASSWORD } from '../factories/users';
import { buildIfNeeded, ServerProcess } from '../helpers/server-process';
import { backend } from '../helpers/test-app';
import { signUpOn, startTwoInstances, TwoInstances } from '../helpers/two-instances';
import { WebhookReceiver } from '../helpers/webhook-receiver';

jest.setTimeout(240_000);

// Two instances share state only through MariaDB and Redis; the embedded run has neither to share.
const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

const USERS = 20;
const CHANGES_PER_USER = 49; // with each user's user.created: 1,000 events

/**
 * SECURITY.md › Webhooks, across instances: two real servers on one MariaDB + Redis deliver 1,000
 * events; each (event, endpoint) is attempted by one instance at a time (the receiver counts a
 * webhook-id arriving while the same id is still being answered), every event arrives, in order per
 * user, and killing one instance while it holds claims loses nothing: its leases run out and the
 * other instance delivers what it held.
 */
describeOnBoth('Webhooks on two instances sharing MariaDB and Redis', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let instances: TwoInstances | undefined;
  let hooks: WebhookReceiver;

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    hooks = await new WebhookReceiver().start();
    instances = await startTwoInstances({
      ...firstAdminEnv(),
      RATE_LIMIT_PER_MINUTE: '1000000',
      LOGIN_PER_IP_PER_MINUTE: '100000',
      REGISTRATION_PER_IP_PER_HOUR: '100000',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_POLL_INTERVAL_MS: '50',
      // A claim is leased for 2 x 2 s + 5 s: a killed instance's deliveries are taken over after 9 s.
      WEBHOOK_TIMEOUT_MS: '2000',
      // At most 20 deliveries are due at once (one per user, the rest wait behind it in order); small
      // rounds leave some to the other instance, else the one that just finished a round may take all.
      WEBHOOK_BATCH_SIZE: '4',
      WEBHOOK_MAX_ENDPOINTS: '3',
    });
    ({ a, b } = instances);
  }, 120_000);
  afterAll(async () => {
    await instances?.stop();
    await hooks?.stop();
  });

  it('WEBHOOK_MAX_ENDPOINTS=3 holds under 20 parallel creations spread over A and B: 3 are 201, 17 are 409', async () => {
    const adminTokens = (await a.http.post('/api/v1/auth/login').send({ identifier: FIRST_ADMIN.username, password: FIRST_ADMIN.password }).expect(200)).body.data;
    const auth = { Authorization: `Bearer ${adminTokens.accessToken}` };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? b : a).http.post('/api/v1/admin/webhooks').set(auth).send({ url: `http://127.0.0.1:9/burst/${i}`, events: ['*'] })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([...Array(3).fill(201), ...Array(17).fill(409)]);
    expect(answers.filter((answer) => answer.status === 409).every((answer) => answer.body.error === 'WEBHOOK_LIMIT_REACHED')).toBe(true);
    const items = (await b.http.get('/api/v1/admin/webhooks').set(auth).expect(200)).body.data.items as { id: string }[];
    expect(items).toHaveLength(3);
    // Room for the next test's endpoint.
    for (const { id } of items) await a.http.delete(`/api/v1/admin/webhooks/${id}`).set(auth).expect(200);
  });

  it('1,000 events: every one reaches the endpoint, none is sent by both instances at once, in order per user, and killing B mid-delivery loses nothing', async () => {
    const adminTokens = (await a.http.post('/api/v1/auth/login').send({ identifier: FIRST_ADMIN.username, password: FIRST_ADMIN.password }).expect(200)).body.data;
    const endpoint = (await a.http.post('/api/v1/admin/webhooks').set({ Authorization: `Bearer ${adminTokens.accessToken}` }).send({ url: hooks.url, events: ['user.created', 'user.updated'] }).expect(201)).body.data;
    hooks.secrets = [endpoint.secret];
    hooks.delayMs = 5;

    const users: { id: string; auth: Record<string, string> }[] = [];
    for (let i = 0; i < USERS; i++) {
      const server = i % 2 ? b : a;
      const body = await signUpOn(server);
      const pair = (await server.http.post('/api/v1/auth/login').send({ identifier: body.username, password: DEFAULT_PASSWORD }).expect(200)).body.data;
      const auth = { Authorization: `Bearer ${pair.accessToken}` };
      users.push({ id: (await server.http.get('/api/v1/users/me').set(auth).expect(200)).body.data.id, auth });
    }
    // Each user's changes in sequence (so their order is defined), the users in parallel, spread over A and B.
    await Promise.all(
      users.map(async (user, u) => {
        for (let i = 0; i < CHANGES_PER_USER; i++) {
          await ((u + i) % 2 ? b : a).http.patch('/api/v1/users/me').set(user.auth).send({ intro: `change ${i}` }).expect(200);
        }
      }),
    );

    const db = await createConnection(instances!.databaseUrl);
    try {
      const [events] = (await db.query("SELECT id, user_id FROM events WHERE type IN ('user.created', 'user.updated') AND user_id IN (?) ORDER BY seq", [users.map((user) => user.id)])) as unknown as [{ id: string; user_id: string }[]];
      expect(events).toHaveLength(USERS * (CHANGES_PER_USER + 1));

      // Once a good part has arrived, slow the receiver so B surely holds claims in flight, and kill it.
      const deadline = Date.now() + 60_000;
      while (new Set(hooks.received.map((hook) => hook.id)).size < 300 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      hooks.delayMs = 1500;
      let held = 0;
      for (let tries = 0; !held && tries < 500; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const [rows] = (await db.query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'delivering' AND leased_by LIKE ?", [`${b.child.pid}-%`])) as unknown as [{ n: number }[]];
        held = Number(rows[0].n);
      }
      b.child.kill('SIGKILL');
      await b.exited;
      expect(held).toBeGreaterThan(0);
      hooks.delayMs = 5;

      const wanted = new Set(events.map((event) => event.id));
      const arrived = () => hooks.received.filter((hook) => wanted.has(hook.id) && hook.verifiedWith.length === 1);
      const until = Date.now() + 120_000;
      while (new Set(arrived().map((hook) => hook.id)).size < wanted.size && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));

      expect(new Set(arrived().map((hook) => hook.id)).size).toBe(wanted.size);
      expect(hooks.received.every((hook) => hook.verifiedWith.length === 1)).toBe(true);
      expect(hooks.concurrentDuplicates).toBe(0);
      // In order per user: each user's events first arrived in the order they were written.
      for (const user of users) {
        const firstArrivals = [...new Set(hooks.received.filter((hook) => hook.body.data.userId === user.id).map((hook) => hook.id))];
        expect(firstArrivals).toEqual(events.filter((event) => event.user_id === user.id).map((event) => event.id));
      }
      // Every delivery ends delivered (A finished what B held).
      for (let waited = 0; waited < 20_000; waited += 200) {
        const [open] = (await db.query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'")) as unknown as [{ n: number }[]];
        if (Number(open[0].n) === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const [statuses] = (await db.query('SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status')) as unknown as [{ status: string; n: number }[]];
      expect(statuses.map((row) => [row.status, Number(row.n)])).toEqual([['delivered', wanted.size]]);
    } finally {
      await db.end();
    }
  });
});

/**
 * The idle worker across instances: B's worker, with no endpoint enabled, has cached "none" in the
 * shared store for PRESENCE_TTL_MS; A (no worker of its own) creates an endpoint and writes an event,
 * and B delivers it long before its cached answer would have run out, because A told the store.
 */
describeOnBoth('Webhooks on two instances: an endpoint created on A starts B delivering', () => {
  let instances: TwoInstances | undefined;
  let hooks: WebhookReceiver;
  let redis: Redis;

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    hooks = await new WebhookReceiver().start();
    instances = await startTwoInstances({ ...firstAdminEnv(), WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_POLL_INTERVAL_MS: '50' }, { a: { WEBHOOK_WORKER: 'false' } });
    redis = new Redis(backend.redisUrl!);
  }, 120_000);
  afterAll(async () => {
    redis?.disconnect();
    await instances?.stop();
    await hooks?.stop();
  });

  it('B, idle with "none" cached for seconds, delivers an event written on A within a second or two of A creating the endpoint', async () => {
    const { a } = instances!;
    const adminTokens = (await a.http.post('/api/v1/auth/login').send({ identifier: FIRST_ADMIN.username, password: FIRST_ADMIN.password }).expect(200)).body.data;
    const key = `${instances!.redisKeyPrefix}${PRESENCE_KEY}`;
    let cachedForMs = 0;
    for (let waited = 0; waited < 3 * PRESENCE_TTL_MS; waited += 50) {
      if ((await redis.get(key)) === '0' && (cachedForMs = await redis.pttl(key)) > PRESENCE_TTL_MS - 1500) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(cachedForMs).toBeGreaterThan(PRESENCE_TTL_MS - 1500);
    const cachedUntil = Date.now() + cachedForMs;

    const endpoint = (await a.http.post('/api/v1/admin/webhooks').set({ Authorization: `Bearer ${adminTokens.accessToken}` }).send({ url: hooks.url, events: ['user.created'] }).expect(201)).body.data;
    hooks.secrets = [endpoint.secret];
    await signUpOn(a);
    await hooks.waitFor(1, 2 * PRESENCE_TTL_MS);
    expect(Date.now()).toBeLessThan(cachedUntil);
    expect(hooks.received.map((hook) => [hook.body.type, hook.verifiedWith.length])).toEqual([['user.created', 1]]);
  });
});
