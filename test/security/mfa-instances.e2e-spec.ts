import { totpCode } from '@/modules/mfa/totp';
import { DEFAULT_PASSWORD } from '../factories/users';
import { buildIfNeeded, ServerProcess } from '../helpers/server-process';
import { backend } from '../helpers/test-app';
import { signUpOn, startTwoInstances, TwoInstances, verifyEmailOn } from '../helpers/two-instances';

jest.setTimeout(120_000);

// Two instances share state only through MariaDB and Redis; the embedded run has neither to share.
const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

/** SECURITY.md › Second factors, across instances: the limits of §10 hold when answers are spread over two servers. */
describeOnBoth('MFA limits hold across two instances sharing MySQL and Redis', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let instances: TwoInstances | undefined;

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    instances = await startTwoInstances({ RATE_LIMIT_PER_MINUTE: '100000', LOGIN_PER_IP_PER_MINUTE: '100000', REGISTRATION_PER_IP_PER_HOUR: '100000' });
    ({ a, b } = instances);
  });
  afterAll(() => instances?.stop());

  /** A user with TOTP set up on A (the confirmation used the code of the current step). */
  async function mfaUserOn(server: ServerProcess) {
    const body = await signUpOn(server);
    const pair = (await server.http.post('/api/v1/auth/login').send({ identifier: body.username, password: DEFAULT_PASSWORD }).expect(200)).body.data;
    const auth = { Authorization: `Bearer ${pair.accessToken}` };
    await verifyEmailOn(server, instances!.outbox, auth, body.email);
    const secret = (await server.http.post('/api/v1/users/me/mfa/totp').set(auth).expect(200)).body.data.secret as string;
    await server.http.post('/api/v1/users/me/mfa/totp/confirm').set(auth).send({ code: totpCode(secret, Date.now()) }).expect(200);
    return { username: body.username, secret };
  }

  async function mfaTokenOn(server: ServerProcess, username: string): Promise<string> {
    const response = await server.http.post('/api/v1/auth/login').send({ identifier: username, password: DEFAULT_PASSWORD }).expect(200);
    expect(response.body.data.mfaRequired).toBe(true);
    return response.body.data.mfaToken as string;
  }

  it('20 parallel wrong answers and one right one, spread over A and B, cannot get past the limit of 5 per mfaToken', async () => {
    const user = await mfaUserOn(a);
    const token = await mfaTokenOn(a, user.username);
    // The next step's code: the confirmation spent this step's.
    const right = totpCode(user.secret, Date.now() + 30_000);
    const wrong = Array.from({ length: 20 }, (_, i) => totpCode(user.secret, Date.now() + (10 + i) * 30_000)).filter((code) => code !== right);
    const responses = await Promise.all([...wrong, right].map((code, i) => (i % 2 ? b : a).http.post('/api/v1/auth/mfa/verify').send({ mfaToken: token, method: 'totp', code })));
    const checked = responses.filter((r) => r.status === 200 || r.body.error === 'MFA_INVALID');
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(responses.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    expect(responses.every((r) => [200, 400, 401].includes(r.status))).toBe(true);
  });

  it('the same TOTP code sent to A and B in parallel succeeds once', async () => {
    const user = await mfaUserOn(b);
    const tokens = await Promise.all([mfaTokenOn(a, user.username), mfaTokenOn(b, user.username)]);
    const code = totpCode(user.secret, Date.now() + 30_000);
    const responses = await Promise.all([
      a.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: tokens[0], method: 'totp', code }),
      b.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: tokens[1], method: 'totp', code }),
    ]);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 400]);
  });

  it('an mfaToken issued by A is single-use on B', async () => {
    const user = await mfaUserOn(a);
    const token = await mfaTokenOn(a, user.username);
    await b.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: token, method: 'totp', code: totpCode(user.secret, Date.now() + 30_000) }).expect(200);
    const again = await a.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: token, method: 'totp', code: totpCode(user.secret, Date.now() - 30_000) });
    expect(again.body.error).toBe('MFA_TOKEN_INVALID');
  });
});
