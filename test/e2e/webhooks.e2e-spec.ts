import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { EventsService } from '@/modules/events/events.service';
import { EVENT_TYPES } from '@/modules/events/event-types';
import { WebhookResolver } from '@/modules/events/webhooks/target-guard';
import { MAX_ATTEMPTS, RETRY_JITTER, RETRY_SCHEDULE_MS, WebhookDeliveriesService } from '@/modules/events/webhooks/webhook-deliveries.service';
import { WebhookWorker } from '@/modules/events/webhooks/webhook-worker';
import { RetentionService } from '@/modules/retention/retention.service';
import { adminUpdate, auditEvents, createAppWithAdmin, signedInAdmin, SignedInAdmin } from '../factories/admin';
import { lastCode, outbox, requestEmailCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { idCardNumber } from '../factories/id-cards';
import { enrolTotp } from '../factories/mfa';
import { deliverCallback, federationEnv, idpClients, idpPerson, SPA_PROFILE } from '../factories/federation';
import { bearer, signInFrom } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser } from '../factories/users';
import { OidcIdp } from '../helpers/oidc-idp';
import { countStatements } from '../helpers/statement-counter';
import { TestApp } from '../helpers/test-app';
import { ReceivedWebhook, ReceiverMode, WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * Contract §12, signed webhooks: the admin API, delivery to a loopback receiver that checks every
 * signature with the standardwebhooks package, retries on the fake clock, order per user, the
 * rotation overlap, auto-disable and what a body may carry. Embedded default and MariaDB + Redis.
 * The worker is driven by hand (WebhookWorker.drain) so each attempt happens at a known time.
 */
const API = '/api/v1/admin/webhooks';
const HOUR = 3600_000;
/** Keys an event's data may have: ids, field names and small enumerations (docs/events.md). */
const DATA_KEYS = new Set(['userId', 'fields', 'via', 'from', 'to', 'provider', 'sessionId', 'reason', 'factor', 'change', 'endpointId']);

describe('Webhooks (contract §12)', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  let worker: WebhookWorker;
  let idp: OidcIdp;
  const receivers: WebhookReceiver[] = [];
  const receiver = async () => {
    const started = await new WebhookReceiver(() => t.clock.now()).start();
    receivers.push(started);
    return started;
  };
  const create = async (url: string, events: string[] = ['*']) => {
    const answer = await t.http.post(API).set(admin.auth).send({ url, events, description: 'spec receiver' }).expect(201);
    return answer.body.data as { id: string; secret: string };
  };
  /** A receiver answering in `mode` and an endpoint (subscribed to `events`) that posts to it; the receiver knows its secret. */
  const endpointFor = async (mode: ReceiverMode = 'ok', events: string[] = ['*']) => {
    const hooks = await receiver();
    hooks.mode = mode;
    const endpoint = await create(hooks.url, events);
    hooks.secrets = [endpoint.secret];
    return { hooks, endpoint };
  };
  /** Queues a webhook.test for the endpoint and runs the worker until nothing is due; answers how many attempts that made. */
  const sendTest = async (endpointId: string) => {
    await t.http.post(`${API}/${endpointId}/test`).set(admin.auth).expect(202);
    return worker.drain();
  };
  const viewOf = async (endpointId: string) => (await t.http.get(`${API}/${endpointId}`).set(admin.auth).expect(200)).body.data;
  const deliveriesOf = async (endpointId: string, query: Record<string, string | number> = {}) =>
    (await t.http.get(`${API}/${endpointId}/deliveries`).set(admin.auth).query({ pageSize: 100, ...query }).expect(200)).body.data.items as {
      id: string;
      eventId: string;
      type: string;
      status: string;
      attempts: number;
      lastStatusCode: number | null;
      lastError: string | null;
      nextAttemptAt: string | null;
      lastAttemptAt: string | null;
    }[];
  // Access tokens expire as the clock moves on: the admin signs in again after each jump.
  const passTime = async (ms: number) => {
    await t.passTime(ms);
    admin = await signedInAdmin(t);
  };
  // Only the endpoints a test made receive its events: the others are disabled at its end.
  const disableAll = async () => {
    for (const endpoint of (await t.http.get(API).set(admin.auth).expect(200)).body.data.items) {
      if (endpoint.enabled) await t.http.patch(`${API}/${endpoint.id}`).set(admin.auth).send({ enabled: false }).expect(200);
    }
  };

  beforeAll(async () => {
    idp = await OidcIdp.start(idpClients(['corp']));
    ({ t, admin } = await createAppWithAdmin({ ...federationEnv(idp, ['corp']), WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_TIMEOUT_MS: '3000' }));
    worker = t.app.get(WebhookWorker);
    await worker.drain(); // the first admin's user.created goes nowhere: no endpoint yet
  }, 120_000);
  afterEach(() => disableAll());
  afterAll(async () => {
    for (const started of receivers) await started.stop();
    await t.close();
    await idp.stop();
  });

  describe('admin API', () => {
    it('creates an endpoint with a whsec_ secret shown once, stored sealed; lists and reads it without the secret; PATCH and DELETE; every change audited', async () => {
      const created = await t.http.post(API).set(admin.auth).send({ url: 'http://127.0.0.1:9/hooks', events: ['user.deleted', 'user.disabled'], description: 'billing' }).expect(201);
      const endpoint = created.body.data;
      expect(endpoint).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        url: 'http://127.0.0.1:9/hooks',
        events: ['user.deleted', 'user.disabled'],
        description: 'billing',
        enabled: true,
        disabledReason: null,
        failingSince: null,
        previousSecretExpiresAt: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      });
      expect(Buffer.from(endpoint.secret.slice(6), 'base64')).toHaveLength(32);
      const [row] = await t.db.query('SELECT * FROM webhook_endpoints WHERE id = ?', [endpoint.id]);
      expect(JSON.stringify(row)).not.toContain(endpoint.secret.slice(6));
      expect(row.secret_enc).toBeTruthy();

      const { secret: _secret, ...view } = endpoint;
      expect(await viewOf(endpoint.id)).toEqual(view);
      const list = (await t.http.get(API).set(admin.auth).expect(200)).body.data.items;
      expect(list.find((item: { id: string }) => item.id === endpoint.id)).toEqual(view);
      expect(JSON.stringify(list)).not.toContain('whsec_');

      const patched = await t.http.patch(`${API}/${endpoint.id}`).set(admin.auth).send({ events: ['*'], description: '', enabled: false }).expect(200);
      expect(patched.body.data).toMatchObject({ events: ['*'], description: null, enabled: false, disabledReason: 'admin' });
      await t.http.patch(`${API}/${endpoint.id}`).set(admin.auth).send({}).expect(400);
      await t.http.delete(`${API}/${endpoint.id}`).set(admin.auth).expect(200);
      await t.http.get(`${API}/${endpoint.id}`).set(admin.auth).expect(404).expect((answer) => expect(answer.body.error).toBe('WEBHOOK_NOT_FOUND'));
      await t.http.delete(`${API}/${endpoint.id}`).set(admin.auth).expect(404);
      const audited = (await auditEvents(t, admin.auth)).filter((event) => event.type.startsWith('webhook_') && event.detail?.endpointId === endpoint.id);
      expect(audited.map((event) => event.type).sort()).toEqual(['webhook_created', 'webhook_deleted', 'webhook_updated']);
      expect(JSON.stringify(audited)).not.toContain('whsec_');
    });

    it('refuses bad input with stable codes, never a 500', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ url: 'ftp://hooks.example.com/x', events: ['*'] }, 'WEBHOOK_URL_INVALID'],
        [{ url: 'http://user:pw@hooks.example.com/x', events: ['*'] }, 'WEBHOOK_URL_INVALID'],
        [{ url: 'javascript:alert(1)', events: ['*'] }, 'WEBHOOK_URL_INVALID'],
        [{ url: 'not a url', events: ['*'] }, 'WEBHOOK_URL_INVALID'],
        [{ url: 'https://hooks.example.com/x', events: [] }, 'VALIDATION_FAILED'],
        [{ url: 'https://hooks.example.com/x', events: ['user.exploded'] }, 'VALIDATION_FAILED'],
        [{ url: 'https://hooks.example.com/x', events: ['webhook.test'] }, 'VALIDATION_FAILED'],
        [{ url: 'https://hooks.example.com/x', events: 'user.created' }, 'VALIDATION_FAILED'],
        [{ url: `https://hooks.example.com/${'a'.repeat(2100)}`, events: ['*'] }, 'VALIDATION_FAILED'],
        [{ events: ['*'] }, 'VALIDATION_FAILED'],
      ];
      for (const [body, error] of cases) {
        const answer = await t.http.post(API).set(admin.auth).send(body);
        expect([answer.status, answer.body.error, JSON.stringify(body).slice(0, 60)]).toEqual([400, error, JSON.stringify(body).slice(0, 60)]);
      }
      await t.http.get(`${API}/not-a-uuid`).set(admin.auth).expect(404);
      await t.http.post('/api/v1/admin/webhook-deliveries/not-a-uuid/retry').set(admin.auth).expect(404);
      await t.http.get(`${API}/00000000-0000-4000-8000-000000000000/deliveries`).set(admin.auth).query({ status: 'lost' }).expect(400);
    });

    it('is for admins only', async () => {
      const user = await signedInUser(t);
      await t.http.get(API).set(user.auth).expect(403);
      await t.http.post(API).set(user.auth).send({ url: 'https://hooks.example.com/x', events: ['*'] }).expect(403);
      await t.http.get(API).expect(401);
    });
  });

  describe('delivery', () => {
    it('every event type reaches a * endpoint, signed (standardwebhooks verifies each), with ids and field names only — no email, phone, code, token, password, ID number or real name', async () => {
      const { hooks, endpoint } = await endpointFor();

      const user = await signedInUser(t, { displayName: 'Before' });
      await t.http.patch('/api/v1/users/me').set(user.auth).send({ displayName: 'Secretly Renamed', website: 'https://hidden.example.com' }).expect(200);
      const email = `moved.${user.username}@example.com`;
      await requestEmailCode(t, email, 'change_email', user.auth);
      const emailCode = lastCode(t, email, 'change_email')!;
      await t.http.put('/api/v1/users/me/email').set(user.auth).send({ email, code: emailCode, password: DEFAULT_PASSWORD }).expect(200);
      const phone = uniquePhone();
      await requestSmsCode(t, phone, 'change_phone', user.auth);
      const phoneCode = lastCode(t, phone, 'change_phone')!;
      await t.http.put('/api/v1/users/me/phone').set(user.auth).send({ phone, code: phoneCode, password: DEFAULT_PASSWORD }).expect(200);
      const newPassword = 'copper lantern 58';
      await t.http.put('/api/v1/users/me/password').set(user.auth).send({ oldPassword: DEFAULT_PASSWORD, newPassword }).expect(200);
      const fresh = await signInFrom(t, user.username, 'Fresh/1.0', newPassword);
      const number = idCardNumber();
      await t.http.post('/api/v1/users/me/real-name').set(bearer(fresh)).send({ realName: '张三丰', idCardNumber: number }).expect(201);
      const person = await idpPerson(idp, { email: `linked.${user.username}@idp.example` });
      const started = await t.http.post('/api/v1/users/me/identities/corp/url').set(bearer(fresh)).send({ redirectUri: SPA_PROFILE }).expect(200);
      await deliverCallback(t, await idp.signIn(started.body.data.url, person.id));
      await t.http.delete('/api/v1/users/me/identities/corp').set(bearer(fresh)).expect(200);
      const totp = await enrolTotp(t, fresh);
      await t.http.delete(`/api/v1/admin/users/${user.user.id}/mfa`).set(admin.auth).expect(200);
      const other = await signInFrom(t, user.username, 'Other/1.0', newPassword);
      await t.http.delete('/api/v1/auth/session').set(bearer(other)).expect(200);
      await adminUpdate(t, admin.auth, user.user.id, { role: 'admin' }).expect(200);
      await adminUpdate(t, admin.auth, user.user.id, { role: 'normal_user', status: 'disabled' }).expect(200);
      await adminUpdate(t, admin.auth, user.user.id, { status: 'active' }).expect(200);
      const last = await signInFrom(t, user.username, 'Last/1.0', newPassword);
      await t.http.delete('/api/v1/users/me').set(bearer(last)).send({ password: newPassword }).expect(200);

      await worker.drain();
      if (process.env.WH_DEBUG) {
        console.log(JSON.stringify(await t.db.query('SELECT seq, type, dispatched_at FROM events WHERE user_id = ? ORDER BY seq', [user.user.id])));
        console.log(JSON.stringify(await t.db.query('SELECT event_seq, type, status, attempts, last_error, lease_until FROM webhook_deliveries WHERE user_id = ? ORDER BY event_seq', [user.user.id])));
      }
      const mine = hooks.received.filter((hook) => hook.body.data.userId === user.user.id);
      expect(new Set(mine.map((hook) => hook.body.type))).toEqual(new Set(EVENT_TYPES));
      for (const hook of hooks.received) {
        expect(hook.verifiedWith).toEqual([endpoint.secret]);
        expect(hook.id).toBe(hook.body.id);
        expect(Object.keys(hook.body).sort()).toEqual(['data', 'id', 'timestamp', 'type']);
        expect(Object.keys(hook.body.data).filter((key) => !DATA_KEYS.has(key))).toEqual([]);
      }
      const everything = hooks.received.map((hook) => hook.raw).join('\n');
      for (const secret of [DEFAULT_PASSWORD, newPassword, email, user.email, phone, phone.slice(1), emailCode, phoneCode, '张三丰', number, number.slice(-8), fresh.accessToken, fresh.refreshToken, other.accessToken, person.id, person.claims.email!, 'Secretly', 'hidden.example', endpoint.secret, totp.secret, ...totp.recoveryCodes]) {
        expect(everything).not.toContain(secret);
      }
      expect(everything).not.toMatch(/@|eyJ[A-Za-z0-9_-]{10,}|\+86/);
      // In creation order, one delivery each, all delivered.
      const order = (await t.db.query('SELECT id FROM events WHERE user_id = ? ORDER BY seq', [user.user.id])).map((row: { id: string }) => row.id);
      expect(mine.map((hook) => hook.id)).toEqual(order);
      expect((await deliveriesOf(endpoint.id)).every((delivery) => delivery.status === 'delivered' && delivery.attempts === 1)).toBe(true);
    }, 120_000);

    it('an endpoint gets only the types it subscribed to; a disabled one gets nothing', async () => {
      const { hooks: deletedOnly } = await endpointFor('ok', ['user.deleted']);
      const { hooks: off, endpoint: disabled } = await endpointFor();
      await t.http.patch(`${API}/${disabled.id}`).set(admin.auth).send({ enabled: false }).expect(200);
      const user = await signedInUser(t);
      await t.http.patch('/api/v1/users/me').set(user.auth).send({ intro: 'changed' }).expect(200);
      await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
      await worker.drain();
      expect(deletedOnly.received.map((hook) => [hook.body.type, hook.body.data.userId])).toEqual([['user.deleted', user.user.id]]);
      expect(off.received).toEqual([]);
    });

    it('POST /test sends a webhook.test event to that endpoint only (202), signed like any other', async () => {
      const { hooks: target, endpoint } = await endpointFor();
      const { hooks: bystander } = await endpointFor();
      await sendTest(endpoint.id);
      expect(target.received.map((hook) => [hook.body.type, hook.body.data, hook.verifiedWith.length])).toEqual([['webhook.test', { endpointId: endpoint.id }, 1]]);
      expect(bystander.received).toEqual([]);
      expect((await deliveriesOf(endpoint.id)).map((delivery) => [delivery.type, delivery.status])).toEqual([['webhook.test', 'delivered']]);
    });

    it('a round of 20 due deliveries costs 6 statements, not 5 per delivery: claimed, read, sent and recorded in bulk', async () => {
      const { hooks, endpoint } = await endpointFor('ok', ['user.updated']);
      // 20 users, one event each: 20 deliveries due at once (a user's later events would wait in order).
      const userIds = Array.from({ length: 20 }, () => randomUUID());
      await t.db.transaction(async (tx) => {
        for (const userId of userIds) await t.app.get(EventsService).emit(tx, 'user.updated', { userId, fields: ['intro'] });
      });
      const deliveries = t.app.get(WebhookDeliveriesService);
      await deliveries.dispatch();
      const { statements, stop } = countStatements(t.db);
      try {
        const round = await deliveries.claim(20);
        await deliveries.deliver(round);
        expect(round.deliveries).toHaveLength(20);
      } finally {
        stop();
      }
      // The candidates, the claim UPDATE, the claimed rows, their endpoints, their events, the successes' UPDATE (was 1 + 5 x 20 = 101).
      expect(statements).toHaveLength(6);
      expect(hooks.received.map((hook) => hook.body.data.userId).sort()).toEqual([...userIds].sort());
      expect((await deliveriesOf(endpoint.id)).map((delivery) => [delivery.status, delivery.attempts, delivery.lastStatusCode])).toEqual(Array(20).fill(['delivered', 1, 204]));
      const [held] = await t.db.query('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE endpoint_id = ? AND (leased_by IS NOT NULL OR lease_until IS NOT NULL)', [endpoint.id]);
      expect(Number(held.n)).toBe(0);
    });

    it('rotation: for 24 h every delivery verifies with the old and the new secret; after that only with the new one', async () => {
      const { hooks, endpoint } = await endpointFor();
      const rotated = await t.http.post(`${API}/${endpoint.id}/rotate-secret`).set(admin.auth).expect(200);
      const secret = rotated.body.data.secret as string;
      expect(secret).toMatch(/^whsec_/);
      expect(secret).not.toBe(endpoint.secret);
      const overlapEnds = new Date((await viewOf(endpoint.id)).previousSecretExpiresAt).getTime();
      expect(Math.abs(overlapEnds - (t.clock.now() + 24 * HOUR))).toBeLessThan(5000);
      hooks.secrets = [endpoint.secret, secret];

      await sendTest(endpoint.id);
      await passTime(23 * HOUR);
      await sendTest(endpoint.id);
      await passTime(HOUR + 1000);
      await sendTest(endpoint.id);
      expect(hooks.received.map((hook) => [hook.verifiedWith.length, hook.signature.split(' ').length])).toEqual([
        [2, 2],
        [2, 2],
        [1, 1],
      ]);
      expect(hooks.received[2].verifiedWith).toEqual([secret]);
      expect((await auditEvents(t, admin.auth, { type: 'webhook_secret_rotated' })).some((event) => event.detail?.endpointId === endpoint.id)).toBe(true);
    });
  });

  describe('retries', () => {
    const expectWait = (delivery: { nextAttemptAt: string | null; lastAttemptAt: string | null }, waitMs: number) => {
      const wait = new Date(delivery.nextAttemptAt!).getTime() - new Date(delivery.lastAttemptAt!).getTime();
      expect(wait).toBeGreaterThanOrEqual(waitMs);
      expect(wait).toBeLessThanOrEqual(Math.ceil(waitMs * (1 + RETRY_JITTER)));
    };

    it('a receiver answering 500 is retried on the schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter), then the delivery is failed', async () => {
      const { hooks, endpoint } = await endpointFor('error');
      await sendTest(endpoint.id);
      for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
        const [delivery] = await deliveriesOf(endpoint.id);
        expect(delivery).toMatchObject({ status: 'pending', attempts: attempt, lastStatusCode: 500, lastError: 'HTTP 500' });
        expectWait(delivery, RETRY_SCHEDULE_MS[attempt - 1]);
        // Not a moment early...
        await passTime(RETRY_SCHEDULE_MS[attempt - 1] - 1000);
        expect(await worker.drain()).toBe(0);
        // ...and then on time.
        await passTime(Math.ceil(RETRY_SCHEDULE_MS[attempt - 1] * RETRY_JITTER) + 1000);
        expect(await worker.drain()).toBe(1);
      }
      const [delivery] = await deliveriesOf(endpoint.id);
      expect(delivery).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, lastStatusCode: 500, nextAttemptAt: null });
      expect(hooks.received).toHaveLength(MAX_ATTEMPTS);
      await passTime(24 * HOUR);
      expect(await worker.drain()).toBe(0);
      expect(hooks.received).toHaveLength(MAX_ATTEMPTS);
      expect((await deliveriesOf(endpoint.id, { status: 'failed' })).map((failed) => failed.id)).toEqual([delivery.id]);
      expect(await deliveriesOf(endpoint.id, { status: 'pending' })).toEqual([]);
    }, 120_000);

    it.each([
      ['hang', null, /no answer within 3000 ms/],
      ['close', null, /connection failed/],
      ['redirect', 307, /redirect 307 not followed/],
    ] as const)('a receiver that %s fails the attempt (%s) and is retried after about 5 s', async (mode, status, error) => {
      const { hooks, endpoint } = await endpointFor(mode);
      await t.http.post(`${API}/${endpoint.id}/test`).set(admin.auth).expect(202);
      const before = Date.now();
      await worker.drain();
      if (mode === 'hang') expect(Date.now() - before).toBeLessThan(10_000);
      const [delivery] = await deliveriesOf(endpoint.id);
      expect(delivery).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: status });
      expect(delivery.lastError).toMatch(error);
      expectWait(delivery, RETRY_SCHEDULE_MS[0]);
      // The redirect was not followed: the receiver saw only the one POST, never /hooks/elsewhere.
      expect(hooks.received).toHaveLength(1);
      hooks.mode = 'ok';
      await passTime(6000);
      expect(await worker.drain()).toBe(1);
      expect((await deliveriesOf(endpoint.id))[0]).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 204, lastError: null });
    });

    it('an answer far over 64 KiB is not read to its end: a 200 counts, the rest is cut off', async () => {
      const { hooks, endpoint } = await endpointFor('huge');
      await sendTest(endpoint.id);
      expect((await deliveriesOf(endpoint.id))[0]).toMatchObject({ status: 'delivered', lastStatusCode: 200 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(hooks.hugeBytesWritten).toBeLessThan(10 * 1024 * 1024);
    });

    it('per user, a later event waits while an earlier one is pending; a receiver that comes back gets the rest in creation order per user', async () => {
      const { hooks, endpoint } = await endpointFor('error', ['user.updated', 'user.created']);
      const [alice, bob] = [await signedInUser(t), await signedInUser(t)];
      for (let i = 0; i < 3; i++) {
        await t.http.patch('/api/v1/users/me').set(alice.auth).send({ intro: `alice ${i}` }).expect(200);
        await t.http.patch('/api/v1/users/me').set(bob.auth).send({ intro: `bob ${i}` }).expect(200);
      }
      await worker.drain();
      // Only each user's first event was tried: the rest wait behind it. The two users' deliveries are
      // sent in parallel, so which of them arrived first is not defined.
      const tried = hooks.received.map((hook) => [hook.body.data.userId, hook.body.type]);
      expect(tried).toHaveLength(2);
      expect(tried).toEqual(expect.arrayContaining([[alice.user.id, 'user.created'], [bob.user.id, 'user.created']]));
      await passTime(6000);
      await worker.drain();
      expect(hooks.received).toHaveLength(4);
      hooks.mode = 'ok';
      await passTime(5 * 60_000 * 1.2);
      await worker.drain();
      const idsFor = async (userId: string) => (await t.db.query('SELECT id FROM events WHERE user_id = ? ORDER BY seq', [userId])).map((row: { id: string }) => row.id);
      const delivered = hooks.received.filter((hook) => hook.mode === 'ok');
      for (const user of [alice, bob]) {
        expect(delivered.filter((hook) => hook.body.data.userId === user.user.id).map((hook) => hook.id)).toEqual(await idsFor(user.user.id));
      }
      expect((await deliveriesOf(endpoint.id)).every((delivery) => delivery.status === 'delivered')).toBe(true);
    });

    it('a manual retry burst (20 at once) makes one attempt; a pending delivery is brought forward; unknown 404, disabled endpoint 409', async () => {
      const { hooks, endpoint } = await endpointFor('error');
      await sendTest(endpoint.id);
      const [delivery] = await deliveriesOf(endpoint.id);
      await t.http.patch(`${API}/${endpoint.id}`).set(admin.auth).send({ enabled: false }).expect(200);
      expect((await deliveriesOf(endpoint.id))[0]).toMatchObject({ status: 'failed', lastError: 'endpoint disabled' });
      const refused = await t.http.post(`/api/v1/admin/webhook-deliveries/${delivery.id}/retry`).set(admin.auth).expect(409);
      expect(refused.body.error).toBe('WEBHOOK_DISABLED');
      await t.http.patch(`${API}/${endpoint.id}`).set(admin.auth).send({ enabled: true }).expect(200);
      hooks.mode = 'ok';
      const answers = await Promise.all(Array.from({ length: 20 }, () => t.http.post(`/api/v1/admin/webhook-deliveries/${delivery.id}/retry`).set(admin.auth)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(202));
      await worker.drain();
      expect(hooks.received.filter((hook) => hook.mode === 'ok')).toHaveLength(1);
      expect((await deliveriesOf(endpoint.id))[0]).toMatchObject({ status: 'delivered', attempts: 2 });
      await t.http.post('/api/v1/admin/webhook-deliveries/00000000-0000-4000-8000-000000000000/retry').set(admin.auth).expect(404);

      hooks.mode = 'error';
      await sendTest(endpoint.id);
      const [pending] = await deliveriesOf(endpoint.id, { status: 'pending' });
      expect(await worker.drain()).toBe(0);
      await t.http.post(`/api/v1/admin/webhook-deliveries/${pending.id}/retry`).set(admin.auth).expect(202);
      expect(await worker.drain()).toBe(1);
      expect((await auditEvents(t, admin.auth, { type: 'webhook_delivery_retried' })).filter((event) => event.detail?.deliveryId === delivery.id)).toHaveLength(20);
    });

    it(`an endpoint failing for WEBHOOK_DISABLE_AFTER_HOURS (72) is disabled, audited, its pending deliveries failed and the admins emailed`, async () => {
      const { hooks, endpoint } = await endpointFor('error');
      await sendTest(endpoint.id);
      expect(await viewOf(endpoint.id)).toMatchObject({ enabled: true, failingSince: expect.any(String) });
      await passTime(71 * HOUR);
      await sendTest(endpoint.id);
      expect((await viewOf(endpoint.id)).enabled).toBe(true);
      await passTime(HOUR + 1000);
      await sendTest(endpoint.id);
      const view = await viewOf(endpoint.id);
      expect(view).toMatchObject({ enabled: false, disabledReason: 'failing' });
      expect((await deliveriesOf(endpoint.id)).map((delivery) => delivery.status)).toEqual(['failed', 'failed', 'failed']);
      expect((await auditEvents(t, admin.auth, { type: 'webhook_disabled' })).filter((event) => event.detail?.endpointId === endpoint.id)).toHaveLength(1);
      const mail = outbox(t).filter((entry) => entry.to === 'root.admin@example.com' && entry.text.includes(endpoint.id));
      expect(mail).toHaveLength(1);
      expect(mail[0].text).toMatch(/disabled after 72 hours/);
      // A success resets the clock: enabled again, it answers, and failingSince is cleared.
      await t.http.patch(`${API}/${endpoint.id}`).set(admin.auth).send({ enabled: true }).expect(200);
      hooks.mode = 'ok';
      await sendTest(endpoint.id);
      expect(await viewOf(endpoint.id)).toMatchObject({ enabled: true, failingSince: null });
    });
  });

  describe('retention and metrics', () => {
    it('an old event is kept while a delivery of it is pending, and purged with its delivery log once it is delivered or failed', async () => {
      const { hooks, endpoint } = await endpointFor('error');
      await sendTest(endpoint.id);
      const [delivery] = await deliveriesOf(endpoint.id);
      await passTime(31 * 24 * HOUR);
      const retention = t.app.get(RetentionService);
      await retention.purge();
      const db = t.app.get(DataSource);
      expect(await db.query('SELECT id FROM events WHERE id = ?', [delivery.eventId])).toHaveLength(1);
      hooks.mode = 'ok';
      await worker.drain();
      await retention.purge();
      expect(await db.query('SELECT id FROM events WHERE id = ?', [delivery.eventId])).toEqual([]);
      expect(await db.query('SELECT id FROM webhook_deliveries WHERE id = ?', [delivery.id])).toEqual([]);
    });

    it('GET /metrics counts deliveries by outcome and shows the queue depth and the oldest pending age', async () => {
      const { endpoint } = await endpointFor('error');
      await sendTest(endpoint.id);
      await passTime(60_000);
      const metrics = (await t.http.get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/user_centre_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
      expect(metrics).toMatch(/user_centre_webhook_deliveries_total\{outcome="retry"\} [1-9]/);
      expect(metrics).toMatch(/user_centre_webhook_deliveries_total\{outcome="failed"\} [1-9]/);
      expect(metrics).toMatch(/user_centre_webhook_queue_depth [1-9]/);
      const age = Number(/user_centre_webhook_oldest_pending_seconds ([\d.]+)/.exec(metrics)![1]);
      expect(age).toBeGreaterThanOrEqual(60);
    });
  });
});

describe('WEBHOOK_MAX_ENDPOINTS (3 here)', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin({ WEBHOOK_MAX_ENDPOINTS: '3', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }));
  }, 120_000);
  afterAll(() => t.close());

  it('20 parallel creations: exactly 3 are 201 and 17 are 409 WEBHOOK_LIMIT_REACHED; a disabled endpoint still counts, a deleted one makes room', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => t.http.post(API).set(admin.auth).send({ url: `http://127.0.0.1:9/burst/${i}`, events: ['*'] })));
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(3);
    const refused = answers.filter((answer) => answer.status === 409);
    expect(refused).toHaveLength(17);
    for (const answer of refused) expect(answer.body.error).toBe('WEBHOOK_LIMIT_REACHED');
    const items = (await t.http.get(API).set(admin.auth).expect(200)).body.data.items as { id: string }[];
    expect(items).toHaveLength(3);
    expect((await auditEvents(t, admin.auth, { type: 'webhook_created' })).length).toBe(3);

    await t.http.patch(`${API}/${items[0].id}`).set(admin.auth).send({ enabled: false }).expect(200);
    expect((await t.http.post(API).set(admin.auth).send({ url: 'http://127.0.0.1:9/after', events: ['*'] }).expect(409)).body.error).toBe('WEBHOOK_LIMIT_REACHED');
    await t.http.delete(`${API}/${items[0].id}`).set(admin.auth).expect(200);
    await t.http.post(API).set(admin.auth).send({ url: 'http://127.0.0.1:9/after', events: ['*'] }).expect(201);
    expect((await t.http.get(API).set(admin.auth).expect(200)).body.data.items).toHaveLength(3);
  });
});

describe('The event catalogue in docs/events.md', () => {
  it('has an example body of each type, {id, type, timestamp, data} with only the keys an event may carry', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'events.md'), 'utf8');
    const examples = [...doc.matchAll(/^\{"id": .*\}$/gm)].map((match) => JSON.parse(match[0]) as { id: string; type: string; timestamp: string; data: Record<string, unknown> });
    expect(examples.map((example) => example.type).sort()).toEqual([...EVENT_TYPES, 'webhook.test'].sort());
    for (const example of examples) {
      expect(Object.keys(example).sort()).toEqual(['data', 'id', 'timestamp', 'type']);
      expect(Object.keys(example.data).filter((key) => !DATA_KEYS.has(key))).toEqual([]);
      expect(JSON.stringify(example)).not.toMatch(/@|\+86|whsec_/);
    }
  });
});

describe('Webhook targets (WEBHOOK_ALLOW_PRIVATE_TARGETS=false)', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  let hooks: WebhookReceiver;
  let resolver: WebhookResolver;
  let answer: string[];
  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin({ WEBHOOK_TIMEOUT_MS: '500' }));
    hooks = await new WebhookReceiver(() => t.clock.now()).start();
    resolver = t.app.get(WebhookResolver);
    jest.spyOn(resolver, 'lookup').mockImplementation(async () => answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  }, 120_000);
  afterAll(async () => {
    await hooks.stop();
    await t.close();
  });

  it.each([
    'http://127.0.0.1/x',
    'http://localhost.:8080/x',
    'http://[::1]/x',
    'http://10.1.2.3/x',
    'http://172.16.5.4/x',
    'http://192.168.1.1/x',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://[fd00:ec2::254]/x',
    'http://[fe80::1]/x',
    'http://[::ffff:127.0.0.1]/x',
    'http://[::ffff:a9fe:a9fe]/x',
    'http://0.0.0.0/x',
    'http://2130706433/x',
    'http://0x7f.1/x',
  ])('refuses %s at creation (400 WEBHOOK_TARGET_NOT_ALLOWED)', async (url) => {
    answer = ['127.0.0.1'];
    const refused = await t.http.post(API).set(admin.auth).send({ url, events: ['*'] }).expect(400);
    expect(refused.body.error).toBe('WEBHOOK_TARGET_NOT_ALLOWED');
  });

  it('refuses a name that resolves to a private address, at creation and on PATCH', async () => {
    answer = ['93.184.216.34', '10.0.0.7'];
    expect((await t.http.post(API).set(admin.auth).send({ url: 'https://mixed.example.test/x', events: ['*'] }).expect(400)).body.error).toBe('WEBHOOK_TARGET_NOT_ALLOWED');
    answer = ['93.184.216.34'];
    const created = await t.http.post(API).set(admin.auth).send({ url: 'https://public.example.test/x', events: ['*'] }).expect(201);
    answer = ['fd12:3456::1'];
    expect((await t.http.patch(`${API}/${created.body.data.id}`).set(admin.auth).send({ url: 'https://internal.example.test/x' }).expect(400)).body.error).toBe('WEBHOOK_TARGET_NOT_ALLOWED');
    await t.http.delete(`${API}/${created.body.data.id}`).set(admin.auth).expect(200);
  });

  it('checks again at send time: a name that resolved to a public address when saved and to loopback now is not sent to', async () => {
    const port = new URL(hooks.url).port;
    answer = ['93.184.216.34'];
    const created = await t.http.post(API).set(admin.auth).send({ url: `http://rebind.example.test:${port}/hooks`, events: ['*'] }).expect(201);
    answer = ['127.0.0.1'];
    await t.http.post(`${API}/${created.body.data.id}/test`).set(admin.auth).expect(202);
    await t.app.get(WebhookWorker).drain();
    const [delivery] = (await t.http.get(`${API}/${created.body.data.id}/deliveries`).set(admin.auth).expect(200)).body.data.items;
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
    expect(delivery.lastError).toMatch(/target address not allowed/);
    expect(hooks.received).toEqual([]);
  });
});
