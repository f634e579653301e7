import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bearer, meStatus, refresh, signInFrom } from '../factories/sessions';
import { signedInUser, signUp } from '../factories/users';
import { decodePart } from '../helpers/jwt-forge';
import { backend, createTestApp, TestApp } from '../helpers/test-app';
import { JwtStrategy } from '@/modules/auth/jwt.strategy';

describe('Refresh tokens, sign-out and sessions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('POST /auth/refresh', () => {
    it('refuses unknown tokens with 401 and malformed bodies with 400', async () => {
      expect((await refresh(t, 'rt_not-a-real-token').expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');
      expect((await t.http.post('/api/v1/auth/refresh').send({}).expect(400)).body.error).toBe('VALIDATION_FAILED');
      expect((await t.http.post('/api/v1/auth/refresh').send({ refreshToken: 42 }).expect(400)).body.error).toBe('VALIDATION_FAILED');
    });

    it('stores refresh tokens hashed, never as sent', async () => {
      const user = await signedInUser(t);
      const rows: { token_hash: string }[] = await t.db.query(`SELECT token_hash FROM refresh_tokens`);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((row) => row.token_hash === user.refreshToken)).toBe(false);
      expect(rows.every((row) => /^[0-9a-f]{64}$/.test(row.token_hash))).toBe(true);
    });
  });

  describe('DELETE /auth/session (sign out)', () => {
    it('needs a token', async () => {
      expect((await t.http.delete('/api/v1/auth/session').expect(401)).body.error).toBe('UNAUTHENTICATED');
    });

    it("drops the signed-out token from this instance's cache of verified tokens, and refuses it after", async () => {
      const strategy = t.app.get(JwtStrategy);
      const user = await signedInUser(t);
      const other = await signedInUser(t);
      expect(await meStatus(t, user)).toBe(200);
      expect(await meStatus(t, other)).toBe(200);
      const before = strategy.cacheUsage().entries;
      await t.http.delete('/api/v1/auth/session').set(bearer(user)).expect(200);
      expect(strategy.cacheUsage().entries).toBe(before - 1);
      expect(await meStatus(t, user)).toBe(401);
      expect(strategy.cacheUsage().entries).toBe(before - 1);
      expect(await meStatus(t, other)).toBe(200);
      expect(strategy.cacheUsage().entries).toBe(before - 1);
    });

  });

  describe('GET /auth/sessions', () => {
    it('lists live sessions with ip, user agent, times and which one is current', async () => {
      const account = await signUp(t);
      const phone = await signInFrom(t, account.username, 'PhoneApp/1.0');
      await t.passTime(1000);
      const laptop = await signInFrom(t, account.username, 'Laptop Browser');
      const stranger = await signedInUser(t);

      const response = await t.http.get('/api/v1/auth/sessions').set(bearer(laptop)).expect(200);
      const items = response.body.data.items as Record<string, unknown>[];
      expect(items).toHaveLength(2);
      for (const item of items) {
        expect(Object.keys(item).sort()).toEqual(['createdAt', 'current', 'id', 'ip', 'lastUsedAt', 'userAgent']);
        expect(item.ip).toMatch(/127\.0\.0\.1|::1/);
        expect(new Date(item.createdAt as string).toISOString()).toBe(item.createdAt);
        expect(new Date(item.lastUsedAt as string).toISOString()).toBe(item.lastUsedAt);
      }
      // Newest first; only the caller's own session is current.
      expect(items[0]).toMatchObject({ id: decodePart(laptop.accessToken, 1).sid, userAgent: 'Laptop Browser', current: true });
      expect(items[1]).toMatchObject({ id: decodePart(phone.accessToken, 1).sid, userAgent: 'PhoneApp/1.0', current: false });
      expect(items.map((item) => item.id)).not.toContain(decodePart(stranger.accessToken, 1).sid);
    });

    it('moves lastUsedAt and the user agent forward on refresh, and drops signed-out sessions', async () => {
      const account = await signUp(t);
      const first = await signInFrom(t, account.username, 'Agent One');
      const second = await signInFrom(t, account.username, 'Agent Two');
      await t.passTime(60_000);
      const refreshed = (await t.http.post('/api/v1/auth/refresh').set('User-Agent', 'Agent One v2').send({ refreshToken: first.refreshToken }).expect(200)).body.data;
      const before = (await t.http.get('/api/v1/auth/sessions').set(bearer(second)).expect(200)).body.data.items;
      const moved = before.find((item: { id: string }) => item.id === decodePart(first.accessToken, 1).sid);
      expect(moved.userAgent).toBe('Agent One v2');
      expect(new Date(moved.lastUsedAt).getTime() - new Date(moved.createdAt).getTime()).toBeGreaterThanOrEqual(60_000);

      await t.http.delete('/api/v1/auth/session').set(bearer(refreshed)).expect(200);
      const after = (await t.http.get('/api/v1/auth/sessions').set(bearer(second)).expect(200)).body.data.items;
      expect(after.map((item: { id: string }) => item.id)).toEqual([decodePart(second.accessToken, 1).sid]);
    });
  });

  describe('DELETE /auth/sessions/{id}', () => {
    it("revokes one of the caller's own sessions at once", async () => {
      const account = await signUp(t);
      const keep = await signInFrom(t, account.username, 'Keeper');
      const lost = await signInFrom(t, account.username, 'Lost phone');
      const sid = decodePart(lost.accessToken, 1).sid as string;
      const response = await t.http.delete(`/api/v1/auth/sessions/${sid}`).set(bearer(keep)).expect(200);
      expect(response.body).toEqual({ code: 200, data: {}, msg: 'Session revoked' });
      expect(await meStatus(t, lost)).toBe(401);
      expect((await refresh(t, lost.refreshToken).expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');
      expect(await meStatus(t, keep)).toBe(200);
      // Gone now: a second revoke is a 404.
      expect((await t.http.delete(`/api/v1/auth/sessions/${sid}`).set(bearer(keep)).expect(404)).body.error).toBe('SESSION_NOT_FOUND');
    });

    it('answers 404 for unknown and malformed ids alike', async () => {
      const me = await signedInUser(t);
      for (const id of [randomUUID(), 'not-a-uuid', '1']) {
        expect((await t.http.delete(`/api/v1/auth/sessions/${id}`).set(me.auth).expect(404)).body.error).toBe('SESSION_NOT_FOUND');
      }
    });
  });

  it('keeps verifying with its own key and store while another application runs in the same process', async () => {
    const mine = await signedInUser(t);
    const other = await createTestApp();
    try {
      const theirs = await signedInUser(other);
      expect(await meStatus(t, mine)).toBe(200);
      expect(await meStatus(other, theirs)).toBe(200);
      // Different signing keys: neither accepts the other's tokens.
      expect((await other.http.get('/api/v1/users/me').set(mine.auth)).status).toBe(401);
      expect((await t.http.get('/api/v1/users/me').set(theirs.auth)).status).toBe(401);
    } finally {
      await other.close();
    }
    expect(await meStatus(t, mine)).toBe(200);
  });

  // Two instances share state only through MySQL + Redis (the embedded store is per process), so this
  // runs in the MariaDB + Redis pass of `npm test`.
  if (backend.mysqlUrl && backend.redisUrl) {
    it('holds revocation across two instances sharing MySQL and Redis', async () => {
      const b = await createTestApp({
        DATABASE_URL: (t.config.database as { url: string }).url,
        REDIS_KEY_PREFIX: t.config.redis.keyPrefix,
        JWT_PRIVATE_KEY: readFileSync(join(t.dataDir, 'keys', 'jwt-private.pem'), 'utf8'),
      });
      try {
        const user = await signedInUser(t);
        expect(await meStatus(b, user)).toBe(200);
        await t.http.delete('/api/v1/auth/session').set(user.auth).expect(200);
        expect(await meStatus(b, user)).toBe(401);

        const other = await signedInUser(t);
        const rotated = (await refresh(b, other.refreshToken).expect(200)).body.data;
        expect(await meStatus(t, rotated)).toBe(200);
        await refresh(t, other.refreshToken).expect(401); // re-use on the other instance
        expect(await meStatus(b, rotated)).toBe(401);
      } finally {
        await b.close();
      }
    });
  }

  it('ends a session at REFRESH_TOKEN_TTL: its refresh token is refused after 30 days', async () => {
    const user = await signedInUser(t);
    await t.passTime(29 * 24 * 3600_000);
    const alive = (await refresh(t, user.refreshToken).expect(200)).body.data;
    await t.passTime(24 * 3600_000 + 1000);
    expect((await refresh(t, alive.refreshToken).expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');
  });
});
