import { generateKeyPairSync } from 'node:crypto';
import { DEFAULT_PASSWORD } from '../factories/users';
import { buildIfNeeded, ServerProcess } from '../helpers/server-process';
import { SoftAuthenticator } from '../helpers/soft-authenticator';
import { backend } from '../helpers/test-app';
import { signUpOn, startTwoInstances, TwoInstances, verifyEmailOn } from '../helpers/two-instances';

jest.setTimeout(120_000);

// Two instances share state only through MariaDB and Redis; the embedded run has neither to share.
const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

const ORIGIN = 'https://app.example.test';

/** SECURITY.md › Second factors (passkeys), across instances: challenges and tries live in the shared store. */
describeOnBoth('Passkey limits hold across two instances sharing MySQL and Redis', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let instances: TwoInstances | undefined;

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    instances = await startTwoInstances({
      RATE_LIMIT_PER_MINUTE: '100000',
      LOGIN_PER_IP_PER_MINUTE: '100000',
      REGISTRATION_PER_IP_PER_HOUR: '100000',
      WEBAUTHN_RP_ID: 'app.example.test',
      WEBAUTHN_ORIGINS: ORIGIN,
    });
    ({ a, b } = instances);
  });
  afterAll(() => instances?.stop());

  /** A user with a passkey registered through `server` (options asked on the other instance: the challenge is shared). */
  async function passkeyUserOn(server: ServerProcess, other: ServerProcess) {
    const body = await signUpOn(server);
    const pair = (await server.http.post('/api/v1/auth/login').send({ identifier: body.username, password: DEFAULT_PASSWORD }).expect(200)).body.data;
    const auth = { Authorization: `Bearer ${pair.accessToken}` };
    await verifyEmailOn(server, instances!.outbox, auth, body.email);
    const authenticator = new SoftAuthenticator(ORIGIN, 'app.example.test');
    const options = (await other.http.post('/api/v1/users/me/passkeys/options').set(auth).expect(200)).body.data;
    await server.http.post('/api/v1/users/me/passkeys').set(auth).send({ response: authenticator.register(options).json }).expect(201);
    return { username: body.username, authenticator };
  }

  async function mfaTokenOn(server: ServerProcess, username: string): Promise<string> {
    const response = await server.http.post('/api/v1/auth/login').send({ identifier: username, password: DEFAULT_PASSWORD }).expect(200);
    expect(response.body.data.mfaRequired).toBe(true);
    return response.body.data.mfaToken as string;
  }

  it('20 parallel wrong passkey answers and one right one, spread over A and B, cannot get past the limit of 5 per mfaToken', async () => {
    const user = await passkeyUserOn(a, b);
    const token = await mfaTokenOn(a, user.username);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bodies = await Promise.all(
      Array.from({ length: 21 }, async (_, i) => {
        const options = (await (i % 2 ? a : b).http.post('/api/v1/auth/mfa/passkey-options').send({ mfaToken: token }).expect(200)).body.data;
        return { mfaToken: token, method: 'passkey', response: user.authenticator.assert(options, undefined, i < 20 ? { signWith: privateKey } : {}) };
      }),
    );
    const responses = await Promise.all(bodies.map((body, i) => (i % 2 ? b : a).http.post('/api/v1/auth/mfa/verify').send(body)));
    const checked = responses.filter((r) => r.status === 200 || r.body.error === 'PASSKEY_INVALID');
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(responses.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    expect(responses.every((r) => [200, 400, 401].includes(r.status))).toBe(true);
  });

  it('the same passkey answer sent to A and B in parallel signs in once', async () => {
    const user = await passkeyUserOn(b, a);
    const { challengeId, options } = (await a.http.post('/api/v1/auth/passkeys/options').expect(200)).body.data;
    // No counter (0, as synced passkeys keep): only the shared single-use challenge stops the second.
    const response = user.authenticator.assert(options, undefined, { counter: 0 });
    const responses = await Promise.all([a, b].map((server) => server.http.post('/api/v1/auth/login/passkey').send({ challengeId, response })));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 400]);
    // The second factor too: one challenge, one answer, two instances.
    const token = await mfaTokenOn(b, user.username);
    const mfaOptions = (await b.http.post('/api/v1/auth/mfa/passkey-options').send({ mfaToken: token }).expect(200)).body.data;
    const answer = user.authenticator.assert(mfaOptions, undefined, { counter: 0 });
    const verified = await Promise.all([a, b].map((server) => server.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: token, method: 'passkey', response: answer })));
    expect(verified.filter((r) => r.status === 200)).toHaveLength(1);
    expect(verified.every((r) => [200, 400, 401].includes(r.status))).toBe(true);
  });
});
