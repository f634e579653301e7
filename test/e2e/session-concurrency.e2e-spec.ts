import { signUp } from '../factories/users';
import { createTestApp } from '../helpers/test-app';

describe('Sessions under concurrency', () => {
  it('opens and rotates many sessions at once: each sign-in and refresh commits its rows in one transaction', async () => {
    const t = await createTestApp();
    try {
      const account = await signUp(t);
      // Three sign-ins in flight at a time: a fourth concurrent one would meet the captcha, since each
      // attempt is counted before its password is compared (test/security/sign-in, "count before compare").
      const signIns: Awaited<ReturnType<typeof t.http.post>>[] = [];
      for (let round = 0; round < 5; round++) {
        signIns.push(...(await Promise.all(Array.from({ length: 3 }, () => t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: account.password })))));
      }
      expect(signIns.map((r) => r.status)).toEqual(Array(15).fill(200));
      const refreshed = await Promise.all(signIns.map((r) => t.http.post('/api/v1/auth/refresh').send({ refreshToken: r.body.data.refreshToken })));
      expect(refreshed.map((r) => r.status)).toEqual(Array(15).fill(200));
      const [{ n: sessions }] = await t.db.query('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?', [account.user.id]);
      const [{ n: tokens }] = await t.db.query('SELECT COUNT(*) AS n FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = ?', [account.user.id]);
      expect([Number(sessions), Number(tokens)]).toEqual([15, 30]);
    } finally {
      await t.close();
    }
  });
});
