import { randomUUID } from 'node:crypto';
import { AuditService } from '@/modules/audit/audit.service';
import { UserIdentity } from '@/modules/federation/user-identity.entity';
import { adminUpdate, createAppWithAdmin, signedInAdmin } from '../factories/admin';
import { newApiKey, withKey } from '../factories/api-keys';
import { lastCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { idCardNumber, masked } from '../factories/id-cards';
import { currentCode, enrolTotp, mfaToken, verifyMfa } from '../factories/mfa';
import { registerPasskey } from '../factories/passkeys';
import { bearer } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser, signIn } from '../factories/users';
import { buildIfNeeded, ServerProcess } from '../helpers/server-process';
import { backend, createTestApp, TestApp } from '../helpers/test-app';
import { signUpOn, startTwoInstances, TwoInstances } from '../helpers/two-instances';

jest.setTimeout(90_000);

// Two real server processes share state only through MariaDB and Redis; the embedded run has neither to share.
const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

const FULL_KEY = 'svc-export-full-key-0123456789abcdef0123';
const INTROSPECT_ONLY = 'svc-export-introspect-only-0123456789ab';
const USERS_READ_ONLY = 'svc-export-users-read-only-0123456789ab';
const INTERNAL_API_KEYS = `${FULL_KEY},${INTROSPECT_ONLY} introspect,${USERS_READ_ONLY} users:read`;

const exportOf = (t: TestApp, auth: Record<string, string>) => t.http.get('/api/v1/users/me/export').set(auth);

/**
 * A user holding one of everything: verified email, a phone, TOTP with recovery codes, a real name, an
 * API key, a linked identity; signed in afresh with both factors, so the export's ⏱ is met.
 */
async function fullUser(t: TestApp) {
  const account = await signedInUser(t);
  const phone = uniquePhone();
  await requestSmsCode(t, phone, 'change_phone');
  await t.http.put('/api/v1/users/me/phone').set(account.auth).send({ phone, code: lastCode(t, phone, 'change_phone') }).expect(200);
  const realName = '张三丰';
  const idNumber = idCardNumber();
  await t.http.post('/api/v1/users/me/real-name').set(account.auth).send({ realName, idCardNumber: idNumber }).expect(201);
  const key = await newApiKey(t, account.auth, { name: 'backup script', scopes: ['profile:read'] });
  await t.db.getRepository(UserIdentity).insert({ id: randomUUID(), userId: account.user.id, provider: 'corp', subject: `sub-${randomUUID()}`, email: account.email, linkedAt: new Date(t.clock.now()) });
  const { secret, recoveryCodes } = await enrolTotp(t, account);
  const pair = (await verifyMfa(t, await mfaToken(t, account.username), 'totp', currentCode(t, secret)).expect(200)).body.data as { accessToken: string; refreshToken: string };
  const { passkey } = await registerPasskey(t, pair, undefined, 'Work laptop');
  return { ...account, phone, realName, idNumber, key, secret, recoveryCodes, pair, passkey };
}

/** SECURITY.md › Sensitive data: GET /users/me/export holds everything about the caller and no secret; GET /internal/users/{id} is for scoped service keys only. */
describe('SECURITY: the data export and the internal user read (contract §12)', () => {
  let t: TestApp;
  beforeAll(async () => ({ t } = await createAppWithAdmin({ INTERNAL_API_KEYS })));
  afterAll(() => t.close());

  describe('GET /users/me/export', () => {
    it('is a JSON attachment, never cached, holding every section about the caller', async () => {
      const user = await fullUser(t);
      const response = await exportOf(t, bearer(user.pair)).expect(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['content-disposition']).toMatch(/^attachment; filename="user-centre-export-\d{4}-\d{2}-\d{2}\.json"$/);
      expect(response.headers['cache-control']).toBe('no-store');
      const doc = response.body;
      // The file is the document itself, not the {code, data, msg} envelope.
      expect(doc).not.toHaveProperty('code');
      expect(doc).toMatchObject({ format: 'user-centre-export', version: 1 });
      const me = (await t.http.get('/api/v1/users/me').set(bearer(user.pair)).expect(200)).body.data;
      expect(doc.profile).toEqual(me);
      expect(doc.contacts).toEqual({ email: user.email, emailVerified: true, phone: user.phone });
      expect(doc.sessions.items.some((session: { current: boolean }) => session.current)).toBe(true);
      expect(doc.sessions.total).toBe(doc.sessions.items.length);
      expect(doc.identities).toEqual([expect.objectContaining({ provider: 'corp', subject: expect.stringMatching(/^sub-/), linkedAt: expect.any(String) })]);
      expect(doc.mfa).toMatchObject({ totp: { enabled: true }, recoveryCodesLeft: 10, required: false });
      expect(doc.mfa.passkeys).toEqual([expect.objectContaining({ id: user.passkey.id, name: 'Work laptop' })]);
      expect(doc.realName).toMatchObject({ status: 'verified', realName: '张**', idCardNumber: masked(user.idNumber) });
      expect(doc.apiKeys).toEqual([expect.objectContaining({ id: user.key.id, name: 'backup script', scopes: ['profile:read'] })]);
      const types = doc.auditEvents.items.map((event: { type: string }) => event.type);
      expect(types).toEqual(expect.arrayContaining(['sign_up', 'sign_in', 'email_verified', 'phone_changed', 'real_name_submitted', 'api_key_created', 'mfa_enabled']));
      expect(doc.auditEvents.items.every((event: { userId: string }) => event.userId === user.user.id)).toBe(true);
      expect(doc.auditEvents.truncated).toBe(false);
    });

    it('holds no secret the account has: password (and its hash), TOTP secret, recovery codes (and hashes), tokens, API key (and hash), full real name and ID number, passkey credential', async () => {
      const user = await fullUser(t);
      const text = (await exportOf(t, bearer(user.pair)).expect(200)).text;
      const id = user.user.id;
      const [{ password_hash: passwordHash }] = await t.db.query('SELECT password_hash FROM users WHERE id = ?', [id]);
      const [{ secret_enc: totpSealed }] = await t.db.query('SELECT secret_enc FROM mfa_totp WHERE user_id = ?', [id]);
      const codeHashes = (await t.db.query('SELECT code_hash FROM mfa_recovery_codes WHERE user_id = ?', [id])).map((row: { code_hash: string }) => row.code_hash);
      const tokenHashes = (await t.db.query('SELECT token_hash FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)', [id])).map((row: { token_hash: string }) => row.token_hash);
      const [{ key_hash: keyHash }] = await t.db.query('SELECT key_hash FROM api_keys WHERE user_id = ?', [id]);
      const [sealed] = await t.db.query('SELECT real_name_enc, id_card_enc, id_card_index FROM real_name_records WHERE user_id = ?', [id]);
      const [credential] = await t.db.query('SELECT credential_id, public_key FROM passkeys WHERE user_id = ?', [id]);
      expect(passwordHash).toBeTruthy();
      expect(codeHashes).toHaveLength(10);
      expect(tokenHashes.length).toBeGreaterThan(0);
      const secrets = [
        DEFAULT_PASSWORD,
        passwordHash,
        user.secret,
        totpSealed,
        ...user.recoveryCodes,
        ...user.recoveryCodes.map((code) => code.replace('-', '')),
        ...codeHashes,
        user.pair.refreshToken,
        user.pair.accessToken,
        user.refreshToken,
        ...tokenHashes,
        user.key.apiKey,
        keyHash,
        user.realName,
        user.idNumber,
        sealed.real_name_enc,
        sealed.id_card_enc,
        sealed.id_card_index,
        credential.credential_id,
        credential.public_key,
      ];
      for (const secret of secrets) {
        expect(typeof secret).toBe('string');
        expect(text.includes(secret)).toBe(false);
      }
    });

    it('is audited: the export (and the real-name read in it) appear in the next export', async () => {
      const user = await fullUser(t);
      await exportOf(t, bearer(user.pair)).expect(200);
      const next = (await exportOf(t, bearer(user.pair)).expect(200)).body;
      const exported = next.auditEvents.items.filter((event: { type: string }) => event.type === 'data_exported');
      expect(exported).toEqual([expect.objectContaining({ outcome: 'success', actorId: user.user.id })]);
      expect(next.auditEvents.items.filter((event: { type: string; detail: { via?: string } | null }) => event.type === 'real_name_read' && event.detail?.via === 'export')).toHaveLength(2);
    });

    it('needs a recent authentication with the second factor (403 RECENT_AUTH_REQUIRED), a bearer token (401), and never takes a personal key (403 API_KEY_SCOPE)', async () => {
      const user = await fullUser(t);
      const none = await t.http.get('/api/v1/users/me/export');
      expect([none.status, none.body.error]).toEqual([401, 'UNAUTHENTICATED']);
      const key = await newApiKey(t, bearer(user.pair), { scopes: ['profile:read', 'profile:write'] });
      const byKey = await exportOf(t, withKey(key));
      expect([byKey.status, byKey.body.error]).toEqual([403, 'API_KEY_SCOPE']);
      await t.passTime(t.config.sessions.recentAuthSeconds * 1000 + 1000);
      const stale = await exportOf(t, bearer(user.pair));
      expect([stale.status, stale.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
      const byPassword = (await t.http.post('/api/v1/auth/reauthenticate').set(bearer(user.pair)).send({ password: DEFAULT_PASSWORD }).expect(200)).body.data;
      const passwordOnly = await exportOf(t, bearer(byPassword));
      expect([passwordOnly.status, passwordOnly.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
      const byTotp = (await t.http.post('/api/v1/auth/reauthenticate').set(bearer(byPassword)).send({ method: 'totp', code: currentCode(t, user.secret) }).expect(200)).body.data;
      await exportOf(t, bearer(byTotp)).expect(200);
    });
  });

  describe('GET /internal/users/{id}', () => {
    const internal = (id: string, key?: string) => {
      const request = t.http.get(`/api/v1/internal/users/${id}`);
      return key ? request.set('X-API-Key', key) : request;
    };

    it('answers the owner\'s view to a key with users:read (a key listed without scopes has it too)', async () => {
      const user = await signedInUser(t);
      const me = (await t.http.get('/api/v1/users/me').set(user.auth).expect(200)).body.data;
      expect((await internal(user.user.id, USERS_READ_ONLY).expect(200)).body.data).toEqual(me);
      expect((await internal(user.user.id, FULL_KEY).expect(200)).body.data).toEqual(me);
    });

    it('refuses a key without users:read (403 API_KEY_SCOPE), and a users:read-only key on introspection', async () => {
      const user = await signedInUser(t);
      const wrong = await internal(user.user.id, INTROSPECT_ONLY);
      expect([wrong.status, wrong.body.error]).toEqual([403, 'API_KEY_SCOPE']);
      const introspect = await t.http.post('/api/v1/auth/introspect').set('X-API-Key', USERS_READ_ONLY).send({ token: user.accessToken });
      expect([introspect.status, introspect.body.error]).toEqual([403, 'API_KEY_SCOPE']);
      await t.http.post('/api/v1/auth/introspect').set('X-API-Key', INTROSPECT_ONLY).send({ token: user.accessToken }).expect(200);
    });

    it('is not reachable with a user token (an admin\'s too), a personal key, or no key: 401 API_KEY_INVALID', async () => {
      const user = await signedInUser(t);
      const key = await newApiKey(t, user.auth);
      const admin = await signedInAdmin(t);
      for (const headers of [user.auth, admin.auth, withKey(key), {}]) {
        const response = await t.http.get(`/api/v1/internal/users/${user.user.id}`).set(headers);
        expect([response.status, response.body.error]).toEqual([401, 'API_KEY_INVALID']);
      }
    });

    it('answers 404 USER_NOT_FOUND for a deleted account at once, an unknown id and a malformed one; a disabled account shows its status', async () => {
      const user = await signedInUser(t);
      await internal(user.user.id, FULL_KEY).expect(200);
      await t.http.get('/api/v1/users/me').set(user.auth).expect(200); // the cached view exists
      const disabled = await signedInUser(t);
      const admin = await signedInAdmin(t);
      await adminUpdate(t, admin.auth, disabled.user.id, { status: 'disabled' }).expect(200);
      expect((await internal(disabled.user.id, FULL_KEY).expect(200)).body.data.status).toBe('disabled');
      await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
      for (const id of [user.user.id, randomUUID(), 'not-a-uuid']) {
        const response = await internal(id, FULL_KEY);
        expect([response.status, response.body.error]).toEqual([404, 'USER_NOT_FOUND']);
      }
    });
  });
});

/**
 * The export's size does not grow with the account's history: sessions and audit events stop at
 * EXPORT_MAX_ITEMS, newest first (what is cut is the oldest), with `total` and `truncated` saying so;
 * a burst of exports at once changes none of it.
 */
describe('SECURITY: the export is bounded (EXPORT_MAX_ITEMS)', () => {
  const CAP = 5;
  /** Per item at most ~1.5 kB (a 255-character agent, a 1,000-character detail): 10 items and the fixed sections stay under 24 kB, where the 60 bulky events alone would be over 70 kB. */
  const MAX_BYTES = 24_000;
  let t: TestApp;
  beforeAll(async () => (t = await createTestApp({ EXPORT_MAX_ITEMS: String(CAP), LOGIN_CAPTCHA_AFTER: '100' })));
  afterAll(() => t.close());

  /** A user with 9 live sessions and 60 bulky audit events, signed in afresh (the export's ⏱). */
  async function longHistory() {
    const user = await signedInUser(t);
    for (let i = 0; i < 7; i++) await signIn(t, user.username);
    const audit = t.app.get(AuditService);
    const longAgent = 'A'.repeat(255);
    const bulky = { note: 'x'.repeat(900) };
    for (let i = 0; i < 60; i++) await audit.record({ type: 'access_denied', outcome: 'denied', userId: user.user.id, actorId: user.user.id, client: { ip: '203.0.113.9', userAgent: longAgent, requestId: 'r' }, detail: bulky });
    return { user, fresh: await signIn(t, user.username), audit };
  }

  it('holds the newest 5 sessions and 5 audit events of many, says how many there are, and stays under a size fixed by the cap', async () => {
    const { fresh } = await longHistory();
    const response = await exportOf(t, bearer(fresh)).expect(200);
    const doc = response.body;
    expect(doc.sessions.items).toHaveLength(CAP);
    expect(doc.sessions).toMatchObject({ total: 9, truncated: true });
    expect(doc.sessions.items[0].current).toBe(true);
    expect(doc.auditEvents.items).toHaveLength(CAP);
    expect(doc.auditEvents.total).toBeGreaterThan(60);
    expect(doc.auditEvents.truncated).toBe(true);
    expect(Buffer.byteLength(response.text)).toBeLessThan(MAX_BYTES);
  });

  it('20 parallel exports: each holds at most 5 sessions and 5 audit events, the newest (the oldest are cut), with totals that add up, under the same size; each is audited once', async () => {
    const { user, fresh, audit } = await longHistory();
    const before = await audit.list({ userId: user.user.id, page: 1, pageSize: 1000 });
    const sessionsBefore = (await t.http.get('/api/v1/auth/sessions').set(bearer(fresh)).expect(200)).body.data.items as { id: string }[];
    const responses = await Promise.all(Array.from({ length: 20 }, () => exportOf(t, bearer(fresh))));
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
    // Events only ever arrive newer (each export audits itself), so the newest 5 at any moment of the burst are no older than the 5th newest before it.
    const oldestKeptBefore = new Date(before.items[CAP - 1].createdAt).getTime();
    const cutBefore = new Set(before.items.slice(CAP).map((event) => event.id));
    for (const response of responses) {
      const { sessions, auditEvents } = response.body;
      expect(Buffer.byteLength(response.text)).toBeLessThan(MAX_BYTES);
      expect(sessions).toMatchObject({ total: 9, truncated: true });
      expect(sessions.items.map((session: { id: string }) => session.id)).toEqual(sessionsBefore.slice(0, CAP).map((session) => session.id));
      expect(auditEvents.items).toHaveLength(CAP);
      expect(auditEvents.truncated).toBe(true);
      expect(auditEvents.total).toBeGreaterThanOrEqual(before.total);
      expect(auditEvents.total).toBeLessThanOrEqual(before.total + 20);
      const times = auditEvents.items.map((event: { createdAt: string }) => new Date(event.createdAt).getTime());
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(Math.min(...times)).toBeGreaterThanOrEqual(oldestKeptBefore);
      expect(auditEvents.items.filter((event: { id: string }) => cutBefore.has(event.id))).toEqual([]);
    }
    const after = await audit.list({ userId: user.user.id, type: 'data_exported', page: 1, pageSize: 100 });
    expect(after.total).toBe(20);
  });
});

/** Every route is under the per-IP limit: a parallel burst at the export and at the internal read gets exactly the budget. */
describe('SECURITY: the per-IP rate limit holds on the export and the internal read under a parallel burst', () => {
  let t: TestApp;
  const LIMIT = 12;
  beforeAll(async () => (t = await createTestApp({ INTERNAL_API_KEYS, RATE_LIMIT_PER_MINUTE: String(LIMIT), TRUSTED_PROXIES: '127.0.0.1' })));
  afterAll(() => t.close());

  it('40 parallel exports from one address: exactly the budget answers, the rest 429 with Retry-After', async () => {
    const user = await signedInUser(t);
    const responses = await Promise.all(Array.from({ length: 40 }, () => exportOf(t, user.auth).set('X-Forwarded-For', '198.51.100.7')));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(LIMIT);
    const limited = responses.filter((r) => r.status === 429);
    expect(limited).toHaveLength(40 - LIMIT);
    for (const r of limited) {
      expect(r.body.error).toBe('TOO_MANY_REQUESTS');
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('40 parallel internal reads from one address: exactly the budget answers', async () => {
    const user = await signedInUser(t);
    const responses = await Promise.all(Array.from({ length: 40 }, () => t.http.get(`/api/v1/internal/users/${user.user.id}`).set('X-API-Key', FULL_KEY).set('X-Forwarded-For', '198.51.100.8')));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(LIMIT);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(40 - LIMIT);
  });
});

/** The same budget when the burst is spread over two server processes sharing MariaDB and Redis. */
describeOnBoth('SECURITY: the per-IP rate limit on the export and the internal read holds across two instances', () => {
  const LIMIT = 12;
  let instances: TwoInstances | undefined;
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    instances = await startTwoInstances({ INTERNAL_API_KEYS, RATE_LIMIT_PER_MINUTE: String(LIMIT), TRUSTED_PROXIES: '127.0.0.1' });
    ({ a, b } = instances);
  }, 120_000);
  afterAll(() => instances?.stop());

  it('40 parallel exports and 40 internal reads, each burst from one address spread over A and B: exactly the budget answers', async () => {
    const body = await signUpOn(a);
    const pair = (await b.http.post('/api/v1/auth/login').send({ identifier: body.username, password: DEFAULT_PASSWORD }).expect(200)).body.data;
    const exports = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).http.get('/api/v1/users/me/export').set(bearer(pair)).set('X-Forwarded-For', '198.51.100.21')));
    expect(exports.filter((r) => r.status === 200)).toHaveLength(LIMIT);
    expect(exports.filter((r) => r.status === 429)).toHaveLength(40 - LIMIT);
    const userId = exports.find((r) => r.status === 200)!.body.profile.id as string;
    const reads = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).http.get(`/api/v1/internal/users/${userId}`).set('X-API-Key', USERS_READ_ONLY).set('X-Forwarded-For', '198.51.100.22')));
    expect(reads.filter((r) => r.status === 200)).toHaveLength(LIMIT);
    expect(reads.filter((r) => r.status === 429)).toHaveLength(40 - LIMIT);
  });
});
