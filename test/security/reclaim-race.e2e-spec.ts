import { randomUUID } from 'node:crypto';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { deliverCallback, federationEnv, idpClients, idpPerson, SPA_PROFILE } from '../factories/federation';
import { lastCode, requestEmailCode, requestEmailVerificationCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { DEFAULT_PASSWORD, signIn, signUp, signUpBody } from '../factories/users';
import { newestCodeIn } from '../helpers/outbox-file';
import { OidcIdp } from '../helpers/oidc-idp';
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

/**
 * Linking an identity has its own gate: the callback re-reads the account and asks the shared store
 * whether the session that started the link was revoked, then writes. Between a reclaim's commit and
 * its revocation markers reaching the store (a slow or failing Redis), both pass: the email is proven
 * and the session looks live. The markers are held back here to keep that window open while links run.
 */
describe('SECURITY: a proof of the email racing a federated link by the unproven party', () => {
  const LINKERS = 4;
  /** Links that reached the callback while the reclaim's markers were held, before they are let through. */
  const CALLBACKS_IN_WINDOW = 4;
  let idp: OidcIdp;
  let t: TestApp;
  beforeAll(async () => {
    idp = await OidcIdp.start(idpClients(['corp']));
    t = await createTestApp({ ...federationEnv(idp, ['corp']), LOGIN_CAPTCHA_AFTER: '100' });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.stop();
  });
  afterEach(() => jest.restoreAllMocks());

  const identitiesOf = async (userId: string) => ((await t.db.query('SELECT COUNT(*) AS n FROM user_identities WHERE user_id = ?', [userId])) as { n: number | string }[])[0].n;

  /** One link by the attacker: start it from the profile, sign in at the provider, deliver the callback. Answers how it ended. */
  async function link(accessToken: string, personId: string): Promise<string> {
    const started = await t.http.post('/api/v1/users/me/identities/corp/url').set('Authorization', `Bearer ${accessToken}`).send({ redirectUri: SPA_PROFILE });
    if (started.status !== 200) return `start ${started.status} ${started.body.error}`;
    const back = await deliverCallback(t, await idp.signIn(started.body.data.url, personId));
    return back.searchParams.has('linked') ? 'linked' : `callback ${back.searchParams.get('error')}`;
  }

  it('a reset by email code racing federated links by the unproven party, its revocation slow to reach the shared store: no identity survives', async () => {
    const account = await signUp(t);
    const attacker = await signIn(t, account.username);
    const person = await idpPerson(idp);
    await requestEmailCode(t, account.email, 'reset_password');
    const resetCode = lastCode(t, account.email.toLowerCase(), 'reset_password')!;

    const sessions = t.app.get(SessionsService);
    const markRevoked = sessions.markRevoked.bind(sessions);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    jest.spyOn(sessions, 'markRevoked').mockImplementation(async (ids) => {
      await held;
      return markRevoked(ids);
    });
    // Let the markers through once enough links ran inside the window, or after a bound (then the assertion below says so).
    const bound = setTimeout(release, 20_000);

    let proofDone = false;
    const outcomes: string[] = [];
    const linker = async () => {
      while (!proofDone) {
        const outcome = await link(attacker.accessToken, person.id);
        outcomes.push(outcome);
        if (outcomes.filter((o) => o.startsWith('callback') || o === 'linked').length >= CALLBACKS_IN_WINDOW) release();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const linkers = Array.from({ length: LINKERS }, linker);
    const proof = await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code: resetCode, newPassword: 'owner took it back 7' });
    proofDone = true;
    await Promise.all(linkers);
    clearTimeout(bound);

    expect(proof.status).toBe(200);
    // The window was really exercised: links got past the start (the email proven, the session not yet marked) to the callback.
    expect(outcomes.filter((o) => o.startsWith('callback') || o === 'linked').length).toBeGreaterThanOrEqual(CALLBACKS_IN_WINDOW);
    expect(Number(await identitiesOf(account.user.id))).toBe(0);
    expect((await t.http.get('/api/v1/users/me').set('Authorization', `Bearer ${attacker.accessToken}`)).status).toBe(401);
    // Before the reclaim the gate refuses the start; after the markers, the guard; in the window, the callback's write.
    for (const outcome of outcomes) expect(['start 403 EMAIL_NOT_VERIFIED', 'start 401 UNAUTHENTICATED', 'callback OAUTH_STATE_INVALID']).toContain(outcome);
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
