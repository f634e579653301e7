import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { idCardNumber, masked } from '../factories/id-cards';
import { signedInUser } from '../factories/users';
import { CaptureLogger } from '../helpers/capture-logger';
import { createTestApp, TestApp } from '../helpers/test-app';

const ROUTE = '/api/v1/users/me/real-name';

interface ProviderCall {
  method: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A stand-in for a third-party identity service on loopback; each test says what it answers. */
class IdentityServer {
  calls: ProviderCall[] = [];
  answer: (call: ProviderCall, response: ServerResponse) => void = (_call, response) => json(response, 200, { status: 'verified' });
  private server!: Server;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        let body: unknown = null;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = Buffer.concat(chunks).toString('utf8');
        }
        const call = { method: request.method ?? '', headers: request.headers, body };
        this.calls.push(call);
        this.answer(call, response);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/identity/check`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}

describe('Real-name verification through an HTTP identity provider', () => {
  const provider = new IdentityServer();
  let t: TestApp;
  beforeAll(async () => {
    const url = await provider.start();
    t = await createTestApp({
      REAL_NAME_PROVIDER: 'http',
      REAL_NAME_HTTP_URL: url,
      REAL_NAME_HTTP_HEADERS: JSON.stringify({ Authorization: 'APPCODE test-app-code', 'X-Tenant': 'user-centre' }),
      REAL_NAME_HTTP_TIMEOUT_MS: '300',
    });
  });
  afterAll(async () => {
    await t.close();
    await provider.close();
  });
  beforeEach(() => {
    provider.calls = [];
    provider.answer = (_call, response) => json(response, 200, { status: 'verified' });
  });

  it('sends the name and number with the configured headers, and a verified answer verifies', async () => {
    const user = await signedInUser(t);
    const number = idCardNumber();
    const response = await t.http.post(ROUTE).set(user.auth).send({ realName: '张三', idCardNumber: number }).expect(201);
    expect(response.body.data).toEqual({ status: 'verified', realName: '张*', idCardNumber: masked(number), verifiedAt: expect.any(String) });
    expect(provider.calls).toHaveLength(1);
    expect(provider.calls[0]).toMatchObject({
      method: 'POST',
      body: { realName: '张三', idCardNumber: number },
      headers: { authorization: 'APPCODE test-app-code', 'x-tenant': 'user-centre', 'content-type': 'application/json' },
    });
    expect((await t.http.get('/api/v1/users/me').set(user.auth).expect(200)).body.data.realNameVerified).toBe(true);
    const [row] = await t.db.query('SELECT provider FROM real_name_records WHERE user_id = ?', [user.user.id]);
    expect(row.provider).toBe('http');
  });

  it('does not call the provider for a number that is invalid or already bound', async () => {
    const first = await signedInUser(t);
    const number = idCardNumber();
    await t.http.post(ROUTE).set(first.auth).send({ realName: '张三', idCardNumber: number }).expect(201);
    provider.calls = [];
    const second = await signedInUser(t);
    await t.http.post(ROUTE).set(second.auth).send({ realName: '张三', idCardNumber: number }).expect(409);
    await t.http.post(ROUTE).set(second.auth).send({ realName: '张三', idCardNumber: `${number.slice(0, 17)}${number[17] === '0' ? '1' : '0'}` }).expect(400);
    expect(provider.calls).toHaveLength(0);
  });

  it('stores a rejection without binding the number, and lets the user resubmit', async () => {
    const impostor = await signedInUser(t);
    const number = idCardNumber();
    provider.answer = (_call, response) => json(response, 200, { status: 'rejected' });
    const rejected = await t.http.post(ROUTE).set(impostor.auth).send({ realName: '李四', idCardNumber: number }).expect(201);
    expect(rejected.body.data).toEqual({ status: 'rejected', realName: '李*', idCardNumber: masked(number), verifiedAt: null });
    expect((await t.http.get(ROUTE).set(impostor.auth).expect(200)).body.data.status).toBe('rejected');
    expect((await t.http.get('/api/v1/users/me').set(impostor.auth).expect(200)).body.data.realNameVerified).toBe(false);

    // The real owner can still bind the number.
    provider.answer = (_call, response) => json(response, 200, { status: 'verified' });
    const owner = await signedInUser(t);
    await t.http.post(ROUTE).set(owner.auth).send({ realName: '张三', idCardNumber: number }).expect(201);

    // The rejected user may try again with their own details.
    const retry = await t.http.post(ROUTE).set(impostor.auth).send({ realName: '李四', idCardNumber: idCardNumber() }).expect(201);
    expect(retry.body.data.status).toBe('verified');
  });

  it('keeps a pending record (which holds the number) open to resubmission', async () => {
    const user = await signedInUser(t);
    const number = idCardNumber();
    provider.answer = (_call, response) => json(response, 200, { status: 'pending' });
    const pending = await t.http.post(ROUTE).set(user.auth).send({ realName: '王五', idCardNumber: number }).expect(201);
    expect(pending.body.data).toMatchObject({ status: 'pending', verifiedAt: null });
    expect((await t.http.get('/api/v1/users/me').set(user.auth).expect(200)).body.data.realNameVerified).toBe(false);

    const other = await signedInUser(t);
    expect((await t.http.post(ROUTE).set(other.auth).send({ realName: '王五', idCardNumber: number }).expect(409)).body.error).toBe('ID_CARD_ALREADY_BOUND');

    provider.answer = (_call, response) => json(response, 200, { status: 'verified' });
    const verified = await t.http.post(ROUTE).set(user.auth).send({ realName: '王五', idCardNumber: number }).expect(201);
    expect(verified.body.data.status).toBe('verified');
    expect((await t.http.get('/api/v1/users/me').set(user.auth).expect(200)).body.data.realNameVerified).toBe(true);
    expect((await t.http.post(ROUTE).set(user.auth).send({ realName: '王五', idCardNumber: number }).expect(409)).body.error).toBe('REAL_NAME_ALREADY_VERIFIED');
  });

  it('maps a {match: true|false} answer', async () => {
    provider.answer = (call, response) => json(response, 200, { match: (call.body as { realName: string }).realName === '张三' });
    const yes = await signedInUser(t);
    expect((await t.http.post(ROUTE).set(yes.auth).send({ realName: '张三', idCardNumber: idCardNumber() }).expect(201)).body.data.status).toBe('verified');
    const no = await signedInUser(t);
    expect((await t.http.post(ROUTE).set(no.auth).send({ realName: '赵六', idCardNumber: idCardNumber() }).expect(201)).body.data.status).toBe('rejected');
  });

  describe('a provider that fails gives 502 and stores nothing', () => {
    it.each<[string, (call: ProviderCall, response: ServerResponse) => void]>([
      ['HTTP 500', (_call, response) => json(response, 500, { error: 'boom' })],
      ['HTTP 401', (_call, response) => json(response, 401, { error: 'bad app code' })],
      ['a body that is not JSON', (_call, response) => response.end('<html>gateway error</html>')],
      ['an unknown status', (_call, response) => json(response, 200, { status: 'ok' })],
      ['a verified answer over 64 KiB (never read past the cap)', (_call, response) => json(response, 200, { status: 'verified', padding: 'x'.repeat(70 * 1024) })],
      ['a redirect', (_call, response) => { response.writeHead(302, { Location: 'http://127.0.0.1:9/elsewhere' }); response.end(); }],
      ['no answer within the timeout', (_call, response) => setTimeout(() => json(response, 200, { status: 'verified' }), 2000).unref()],
    ])('%s', async (_label, answer) => {
      provider.answer = answer;
      const user = await signedInUser(t);
      const response = await t.http.post(ROUTE).set(user.auth).send({ realName: '张三', idCardNumber: idCardNumber() }).expect(502);
      expect(response.body.error).toBe('REAL_NAME_PROVIDER_UNAVAILABLE');
      expect(provider.calls).toHaveLength(1);
      await t.http.get(ROUTE).set(user.auth).expect(404);
      expect((await t.http.get('/api/v1/users/me').set(user.auth).expect(200)).body.data.realNameVerified).toBe(false);
    });

    it('when the provider is not reachable at all', async () => {
      const unreachable = await createTestApp({ REAL_NAME_PROVIDER: 'http', REAL_NAME_HTTP_URL: 'http://127.0.0.1:9/check', REAL_NAME_HTTP_TIMEOUT_MS: '500' });
      try {
        const user = await signedInUser(unreachable);
        const response = await unreachable.http.post(ROUTE).set(user.auth).send({ realName: '张三', idCardNumber: idCardNumber() }).expect(502);
        expect(response.body.error).toBe('REAL_NAME_PROVIDER_UNAVAILABLE');
      } finally {
        await unreachable.close();
      }
    });
  });
});

describe('Logs of real-name traffic', () => {
  it('never hold the number or the name, at debug level, whatever happens', async () => {
    const provider = new IdentityServer();
    const url = await provider.start();
    // Every line the service logs, as pino writes it (after the redaction paths).
    const logger = new CaptureLogger();
    const t = await createTestApp({ LOG_LEVEL: 'debug', REAL_NAME_PROVIDER: 'http', REAL_NAME_HTTP_URL: url, REAL_NAME_HTTP_TIMEOUT_MS: '300', REAL_NAME_PER_ID_NUMBER_PER_DAY: '100' }, { logger });
    const name = '欧阳娜娜';
    const number = idCardNumber();
    try {
      const user = await signedInUser(t);
      provider.answer = (_call, response) => json(response, 500, { error: 'boom' });
      await t.http.post(ROUTE).set(user.auth).send({ realName: name, idCardNumber: number }).expect(502);
      provider.answer = (_call, response) => response.end('not json');
      await t.http.post(ROUTE).set(user.auth).send({ realName: name, idCardNumber: number }).expect(502);
      provider.answer = (_call, response) => json(response, 200, { status: 'verified' });
      await t.http.post(ROUTE).set(user.auth).send({ realName: name, idCardNumber: number }).expect(201);
      await t.http.get(ROUTE).set(user.auth).expect(200);
      const other = await signedInUser(t);
      await t.http.post(ROUTE).set(other.auth).send({ realName: name, idCardNumber: number }).expect(409);
    } finally {
      await t.close();
      await provider.close();
    }
    const logs = logger.text();
    expect(logs).toContain('Identity check failed');
    expect(logs).toContain('real_name_read');
    expect(logs).not.toContain(number);
    expect(logs).not.toContain(number.slice(0, 17));
    expect(logs).not.toContain(name);
  });
});
