import { randomBytes, randomUUID } from 'node:crypto';
import { uniquePhone } from '../factories/codes';
import { DEFAULT_PASSWORD, signUp, signUpBody } from '../factories/users';
import { createTestApp, TEST_CAPTCHA, TestApp } from '../helpers/test-app';

/** A /64 nobody else in the run uses (documentation space, 2001:db8::/32). */
function freshNetwork(): string {
  const word = () => randomBytes(2).toString('hex');
  return `2001:db8:${word()}:${word()}`;
}

/**
 * Address `i` of the /64 `network`, with random low 64 bits (what an attacker rotates), spelled in
 * turn compressed, fully expanded and upper-case: every spelling is the same /64.
 */
function addressIn(network: string, i: number): string {
  const host = Array.from({ length: 4 }, () => randomBytes(2).toString('hex'));
  if (i % 3 === 1) return [...network.split(':'), ...host].map((word) => word.padStart(4, '0')).join(':');
  if (i % 3 === 2) return `${network}:${host.join(':')}`.toUpperCase();
  return `${network}:${host.join(':')}`;
}

const from = (ip: string) => ({ 'X-Forwarded-For': ip });

/** Fires all requests at once (supertest sends a request only once it is awaited: .then() sends it now). */
const burst = <T>(requests: PromiseLike<T>[]) => Promise.all(requests.map((request) => Promise.resolve(request)));

const statuses = (answers: { status: number }[]) => answers.map(({ status }) => status).sort();

/** SECURITY.md › per-IP limits: an IPv6 client is its /64, so rotating the low 64 bits opens no new budget. */
describe('SECURITY: per-IP limits count an IPv6 client by its /64', () => {
  let t: TestApp;
  beforeAll(
    async () =>
      (t = await createTestApp({ TRUSTED_PROXIES: 'loopback', LOGIN_PER_IP_PER_MINUTE: '5', REGISTRATION_PER_IP_PER_HOUR: '3', CODE_PER_IP_PER_HOUR: '3', CAPTCHA_PER_IP: '3' })),
  );
  afterAll(() => t.close());

  /** A pending captcha, fetched from its own IPv4 address so it never counts against the /64 under test. */
  let captchaClients = 0;
  async function captcha(): Promise<{ captchaId: string; captchaText: string }> {
    const captchaId = randomUUID();
    captchaClients += 1;
    await t.http.get(`/api/v1/verification/captcha/${captchaId}`).set(from(`198.51.${Math.floor(captchaClients / 250)}.${captchaClients % 250}`)).expect(200);
    return { captchaId, captchaText: TEST_CAPTCHA };
  }

  it('sign-in: 12 parallel attempts from 12 addresses of one /64 with LOGIN_PER_IP_PER_MINUTE=5: 5 are answered, 7 get 429; another /64 is not affected', async () => {
    const network = freshNetwork();
    const answers = await burst(Array.from({ length: 12 }, (_, i) => t.http.post('/api/v1/auth/login').set(from(addressIn(network, i))).send({ identifier: `nobody_${randomUUID().slice(0, 8)}`, password: 'wrong password!' })));
    expect(statuses(answers)).toEqual([...Array(5).fill(401), ...Array(7).fill(429)]);
    const limited = answers.find(({ status }) => status === 429)!;
    expect([limited.body.error, Number(limited.headers['retry-after']) > 0]).toEqual(['TOO_MANY_REQUESTS', true]);
    const account = await signUp(t);
    await t.http.post('/api/v1/auth/login').set(from(addressIn(freshNetwork(), 0))).send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(200);
  });

  it('sign-up: 8 parallel sign-ups from 8 addresses of one /64 with REGISTRATION_PER_IP_PER_HOUR=3: 3 accounts, 5 × 429', async () => {
    const network = freshNetwork();
    const bodies = await Promise.all(Array.from({ length: 8 }, async () => ({ ...signUpBody(), ...(await captcha()) })));
    const answers = await burst(bodies.map((body, i) => t.http.post('/api/v1/users').set(from(addressIn(network, i))).send(body)));
    expect(statuses(answers)).toEqual([...Array(3).fill(201), ...Array(5).fill(429)]);
    // The phone sign-up route shares the budget.
    expect((await t.http.post('/api/v1/users/phone').set(from(addressIn(network, 9))).send({ phone: uniquePhone(), smsCode: '123456' })).status).toBe(429);
  });

  it('code requests: 8 parallel requests from 8 addresses of one /64 with CODE_PER_IP_PER_HOUR=3: 3 are sent, 5 × 429', async () => {
    const network = freshNetwork();
    const bodies = await Promise.all(Array.from({ length: 8 }, async () => ({ email: `v6_${randomUUID().slice(0, 8)}@example.com`, purpose: 'register', ...(await captcha()) })));
    const answers = await burst(bodies.map((body, i) => t.http.post('/api/v1/verification/email-codes').set(from(addressIn(network, i))).send(body)));
    expect(statuses(answers)).toEqual([...Array(3).fill(202), ...Array(5).fill(429)]);
  });

  it('captchas: 8 fetched in parallel from 8 addresses of one /64 with CAPTCHA_PER_IP=3: 3 stay pending', async () => {
    const network = freshNetwork();
    const ids = Array.from({ length: 8 }, () => randomUUID());
    await burst(ids.map((id, i) => t.http.get(`/api/v1/verification/captcha/${id}`).set(from(addressIn(network, i))).expect(200)));
    const pending = await Promise.all(ids.map((id) => t.kv.get(`captcha:${id}`)));
    expect(pending.filter((digest) => digest !== null)).toHaveLength(3);
  });

  it('audit events and sessions keep the full address, not the /64', async () => {
    const account = await signUp(t);
    const address = addressIn(freshNetwork(), 0);
    const signedIn = (await t.http.post('/api/v1/auth/login').set(from(address)).send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(200)).body.data;
    const sessions = (await t.http.get('/api/v1/auth/sessions').set('Authorization', `Bearer ${signedIn.accessToken}`).expect(200)).body.data.items as { ip: string }[];
    expect(sessions.map(({ ip }) => ip)).toEqual([address]);
    const audited = (await t.db.query(`SELECT ip FROM audit_events WHERE user_id = ? AND type = 'sign_in'`, [account.user.id])) as { ip: string }[];
    expect(audited.map(({ ip }) => ip)).toEqual([address]);
  });
});

describe('SECURITY: the general rate limit counts an IPv6 client by its /64', () => {
  let t: TestApp;
  beforeAll(async () => (t = await createTestApp({ TRUSTED_PROXIES: 'loopback', RATE_LIMIT_PER_MINUTE: '5' })));
  afterAll(() => t.close());

  it('12 parallel requests from 12 addresses of one /64 with RATE_LIMIT_PER_MINUTE=5: 5 answered, 7 × 429 with Retry-After; another /64 and an IPv4 client are not affected', async () => {
    const network = freshNetwork();
    const answers = await burst(Array.from({ length: 12 }, (_, i) => t.http.get('/.well-known/jwks.json').set(from(addressIn(network, i)))));
    expect(statuses(answers)).toEqual([...Array(5).fill(200), ...Array(7).fill(429)]);
    const limited = answers.find(({ status }) => status === 429)!;
    expect([limited.body.error, Number(limited.headers['retry-after']) > 0]).toEqual(['TOO_MANY_REQUESTS', true]);
    await t.http.get('/.well-known/jwks.json').set(from(addressIn(freshNetwork(), 0))).expect(200);
    await t.http.get('/.well-known/jwks.json').set(from('203.0.113.50')).expect(200);
    // An IPv4 client seen as IPv4-mapped IPv6 is the same client.
    for (let i = 0; i < 4; i++) await t.http.get('/.well-known/jwks.json').set(from('203.0.113.50')).expect(200);
    await t.http.get('/.well-known/jwks.json').set(from('::ffff:203.0.113.50')).expect(429);
  });
});
