import { randomUUID } from 'node:crypto';
import { lastCode, requestEmailCode, requestEmailVerificationCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { DEFAULT_PASSWORD, signIn, signUp, signUpBody } from '../factories/users';
import { newestCodeIn } from '../helpers/outbox-file';
import { buildIfNeeded, ServerProcess } from '../helpers/server-process';
import { backend, createTestApp, TEST_CAPTCHA, TestApp } from '../helpers/test-app';
import { startTwoInstances, TwoInstances } from '../helpers/two-instances';

jest.setTimeout(180_000);

const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

/** How many "add phone" attempts race each proof, spread over its run (the same code each time: a refused attempt does not spend it). */
// The test titles (named in SECURITY.md) spell these numbers out.
const ATTEMPTS = 24;
const ROUNDS = 8;

type Http = Pick<TestApp, 'http'>['http'];

/** Fires `attempts` requests one event-loop turn (or a millisecond) apart, with `proof` sent after the first third, and waits for all. */
async function race(proof: () => Promise<{ status: number }>, attempt: (i: number) => Promise<{ status: number; body: { error?: string } }>) {
  const attempts: Promise<{ status: number; body: { error?: string } }>[] = [];
  let proved: Promise<{ status: number }> | undefined;
  for (let i = 0; i < ATTEMPTS; i++) {
    // supertest sends a request only once it is awaited: .then() sends it now.
    if (i === Math.floor(ATTEMPTS / 3)) proved = proof().then((r) => r);
    attempts.push(attempt(i).then((r) => r));
    await new Promise((resolve) => (i % 2 ? setTimeout(resolve, 1) : setImmediate(resolve)));
  }
  return { proof: await proved!, attempts: await Promise.all(attempts) };
}

/** After the race: the account may have no phone, and the unproven party's session is dead. */
async function expectClean(http: Http, userId: string, attackerToken: string, phoneOf: () => Promise<string | null>, attempts: { status: number; body: { error?: string } }[]) {
  expect(await phoneOf()).toBeNull();
  expect((await http.get('/api/v1/users/me').set('Authorization', `Bearer ${attackerToken}`)).status).toBe(401);
  // Each attempt was refused by the gate (403 EMAIL_NOT_VERIFIED), as a dead session (401: by the guard, or inside the write
  // when it passed the guard before the reclaim committed), or after such an attempt spent the code (400 CODE_EXPIRED).
  for (const r of attempts) expect(['401 UNAUTHENTICATED', '403 EMAIL_NOT_VERIFIED', '400 CODE_EXPIRED', '400 CODE_INVALID']).toContain(`${r.status} ${r.body.error}`);
  if (process.env.RACE_TALLY) console.log(userId, attempts.map((r) => `${r.status}${r.body.error ?? ''}`).join(' '));
}

/** SECURITY.md › Recovery gives a clean account: "verify email" racing "add phone" never leaves the unproven party's phone behind. */
describe('SECURITY: a proof of the email racing "add phone" by the unproven party', () => {
  let t: TestApp;
  beforeAll(async () => (t = await createTestApp({ LOGIN_CAPTCHA_AFTER: '100' })));
  afterAll(() => t.close());

  const phoneOf = (userId: string) => async () => ((await t.db.query('SELECT phone FROM users WHERE id = ?', [userId])) as { phone: string | null }[])[0].phone;

  /** An account whose email nobody proved, signed in by the "attacker", with a change_phone code for the attacker's number. */
  async function plantedAccount() {
    const account = await signUp(t);
    const attacker = await signIn(t, account.username);
    const phone = uniquePhone();
    await requestSmsCode(t, phone, 'change_phone');
    return { account, attacker, phone, phoneCode: lastCode(t, phone, 'change_phone')! };
  }

  it('a reset by email code (the owner proving the address) racing 24 phone additions by the unproven party, 8 times: the phone never survives', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { account, attacker, phone, phoneCode } = await plantedAccount();
      await requestEmailCode(t, account.email, 'reset_password');
      const resetCode = lastCode(t, account.email.toLowerCase(), 'reset_password')!;
      const { proof, attempts } = await race(
        () => t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code: resetCode, newPassword: 'owner took it back 7' }),
        () => t.http.put('/api/v1/users/me/phone').set('Authorization', `Bearer ${attacker.accessToken}`).send({ phone, code: phoneCode }),
      );
      expect(proof.status).toBe(200);
      await expectClean(t.http, account.user.id, attacker.accessToken, phoneOf(account.user.id), attempts);
    }
  });

  it('POST /users/me/email/verification from one session racing 24 phone additions from another, 8 times: the phone never survives', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { account, attacker, phone, phoneCode } = await plantedAccount();
      const prover = await signIn(t, account.username);
      const proverAuth = { Authorization: `Bearer ${prover.accessToken}` };
      await requestEmailVerificationCode(t, proverAuth, account.email);
      const code = lastCode(t, account.email.toLowerCase(), 'verify_email')!;
      const { proof, attempts } = await race(
        () => t.http.post('/api/v1/users/me/email/verification').set(proverAuth).send({ code }),
        () => t.http.put('/api/v1/users/me/phone').set('Authorization', `Bearer ${attacker.accessToken}`).send({ phone, code: phoneCode }),
      );
      expect(proof.status).toBe(200);
      await expectClean(t.http, account.user.id, attacker.accessToken, phoneOf(account.user.id), attempts);
    }
  });
});

/** The same race with the proof on one server process and the attempts spread over both. */
describeOnBoth('SECURITY: a proof of the email racing "add phone", over two instances sharing MariaDB and Redis', () => {
  let instances: TwoInstances | undefined;
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    instances = await startTwoInstances({ RATE_LIMIT_PER_MINUTE: '100000', LOGIN_PER_IP_PER_MINUTE: '100000', REGISTRATION_PER_IP_PER_HOUR: '100000', CODE_PER_IP_PER_HOUR: '10000', CODE_PER_IP_PER_DAY: '10000', LOGIN_CAPTCHA_AFTER: '100' });
    ({ a, b } = instances);
  }, 120_000);
  afterAll(() => instances?.stop());

  /** The newest code the shared outbox holds for `to` and `purpose` (it is written just after the 202). */
  async function codeFor(to: string, purpose: string): Promise<string> {
    for (let waited = 0; waited < 5000; waited += 20) {
      const code = newestCodeIn(instances!.outbox, to, purpose);
      if (code) return code;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no ${purpose} code for ${to}`);
  }

  async function sendCode(server: ServerProcess, kind: 'sms-codes' | 'email-codes', body: Record<string, string>) {
    const captchaId = randomUUID();
    await server.http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
    await server.http.post(`/api/v1/verification/${kind}`).send({ ...body, captchaId, captchaText: TEST_CAPTCHA }).expect(202);
  }

  it('a reset by email code on A racing 24 phone additions spread over A and B, 8 times: the phone never survives', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const body = signUpBody();
      const captchaId = randomUUID();
      await a.http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
      const userId = (await a.http.post('/api/v1/users').send({ ...body, captchaId, captchaText: TEST_CAPTCHA }).expect(201)).body.data.id as string;
      const attacker = (await b.http.post('/api/v1/auth/login').send({ identifier: body.username, password: DEFAULT_PASSWORD }).expect(200)).body.data as { accessToken: string };
      const phone = uniquePhone();
      await sendCode(b, 'sms-codes', { phone, purpose: 'change_phone' });
      const phoneCode = await codeFor(phone, 'change_phone');
      await sendCode(a, 'email-codes', { email: body.email, purpose: 'reset_password' });
      const resetCode = await codeFor(body.email.toLowerCase(), 'reset_password');
      const { proof, attempts } = await race(
        () => a.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: body.email, code: resetCode, newPassword: 'owner took it back 7' }),
        (i) => (i % 2 ? a : b).http.put('/api/v1/users/me/phone').set('Authorization', `Bearer ${attacker.accessToken}`).send({ phone, code: phoneCode }),
      );
      expect(proof.status).toBe(200);
      const owner = (await a.http.post('/api/v1/auth/login').send({ identifier: body.username, password: 'owner took it back 7' }).expect(200)).body.data as { accessToken: string };
      // PATCH answers the row as it is now (GET /users/me may answer a cached view).
      const phoneOf = async () => (await b.http.patch('/api/v1/users/me').set('Authorization', `Bearer ${owner.accessToken}`).send({ displayName: 'Owner' }).expect(200)).body.data.phone as string | null;
      await expectClean(b.http, userId, attacker.accessToken, phoneOf, attempts);
    }
  });
});
