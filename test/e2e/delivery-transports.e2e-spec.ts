import { createHmac } from 'node:crypto';
import { createServer as createHttpServer, Server } from 'node:http';
import { AddressInfo, createServer as createTcpServer, Server as TcpServer, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { codeOutcomes, requestEmailCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { httpGateway } from '../helpers/http-gateway';
import { createTestApp } from '../helpers/test-app';

/**
 * The real transports, each against a real server of its protocol started here on loopback. Code
 * requests are answered 202 before delivery, so what a transport did is read afterwards: from the
 * server that received it, and from the delivery outcome in /metrics.
 */

const ALIYUN_SETTINGS = { ALIYUN_ACCESS_KEY_ID: 'LTAI-test-id', ALIYUN_ACCESS_KEY_SECRET: 'test-secret/with+chars', ALIYUN_SMS_SIGN_NAME: '用户中心', ALIYUN_SMS_TEMPLATE_CODE: 'SMS_123456' };

const portOf = (server: { address(): AddressInfo | string | null }) => (server.address() as AddressInfo).port;

describe('SMTP mail transport', () => {
  it('delivers the code through a real SMTP server with authentication, in the caller\'s language', async () => {
    const messages: string[] = [];
    const logins: string[] = [];
    const smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        logins.push(`${auth.username}:${auth.password}`);
        callback(null, { user: auth.username });
      },
      onData(stream, _session, callback) {
        let data = '';
        stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
        stream.on('end', () => {
          messages.push(data);
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const t = await createTestApp({
      MAIL_TRANSPORT: 'smtp',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(portOf(smtp.server)),
      SMTP_USER: 'mailer',
      SMTP_PASSWORD: 's3cret pass',
      MAIL_FROM: 'User Centre <no-reply@example.com>',
    });
    try {
      const to = `smtp_${Date.now()}@example.com`;
      expect((await requestEmailCode(t, to, 'register', { 'Accept-Language': 'zh-CN' })).status).toBe(202);
      expect(await codeOutcomes(t, 'email', 'register', 'sent')).toBe(1);
      expect(logins).toEqual(['mailer:s3cret pass']);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/^From: User Centre <no-reply@example\.com>/m);
      expect(messages[0]).toMatch(new RegExp(`^To: ${to}`, 'm'));
      expect(messages[0]).toMatch(/^Subject: =\?UTF-8\?/m); // the Chinese subject, MIME-encoded
      expect(Buffer.from(messages[0]).toString()).toMatch(/\d{6}/);
    } finally {
      await t.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });

  it('answers 202 at once when the server never answers; the delivery fails within the timeout', async () => {
    const sockets: Socket[] = [];
    const silent: TcpServer = createTcpServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const t = await createTestApp({ MAIL_TRANSPORT: 'smtp', SMTP_HOST: '127.0.0.1', SMTP_PORT: String(portOf(silent)), MAIL_FROM: 'no-reply@example.com', SMTP_TIMEOUT_MS: '300' });
    try {
      const response = await requestEmailCode(t, `silent_${Date.now()}@example.com`, 'register');
      expect(response.status).toBe(202);
      expect(await codeOutcomes(t, 'email', 'register', 'failed')).toBe(1);
    } finally {
      await t.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('HTTP SMS transport', () => {
  it('sends the configured method, headers and JSON body with escaped values', async () => {
    const gateway = await httpGateway(() => ({ status: 200, body: '{"ok":true}' }));
    const t = await createTestApp({
      SMS_TRANSPORT: 'http',
      SMS_HTTP_URL: `${gateway.url}/send`,
      SMS_HTTP_HEADERS: '{"Authorization":"Bearer gateway-token"}',
      SMS_HTTP_BODY_TEMPLATE: '{"to":"{{phone}}","code":"{{code}}","kind":"{{purpose}}","message":"{{text}}"}',
    });
    try {
      const phone = uniquePhone();
      expect((await requestSmsCode(t, phone, 'register')).status).toBe(202);
      expect(await codeOutcomes(t, 'sms', 'register', 'sent')).toBe(1);
      expect(gateway.received).toHaveLength(1);
      const [request] = gateway.received;
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/send');
      expect(request.headers.authorization).toBe('Bearer gateway-token');
      const body = JSON.parse(request.body);
      expect(body).toMatchObject({ to: phone, kind: 'register', code: expect.stringMatching(/^\d{6}$/) });
      expect(body.message).toContain(body.code);
    } finally {
      await t.close();
      await gateway.close();
    }
  });

  it('answers 202 when the gateway fails or hangs; each failure is counted, and the next code comes after the cooldown', async () => {
    let mode: 'fail' | 'hang' = 'fail';
    const gateway = await httpGateway(() => (mode === 'fail' ? { status: 500, body: '{}' } : null));
    const t = await createTestApp({ SMS_TRANSPORT: 'http', SMS_HTTP_URL: gateway.url, SMS_TIMEOUT_MS: '300' });
    try {
      const phone = uniquePhone();
      expect((await requestSmsCode(t, phone, 'register')).status).toBe(202);
      expect(await codeOutcomes(t, 'sms', 'register', 'failed')).toBe(1);
      expect((await requestSmsCode(t, phone, 'register')).status).toBe(429);
      await t.passTime(61_000);
      mode = 'hang';
      expect((await requestSmsCode(t, phone, 'register')).status).toBe(202);
      expect(await codeOutcomes(t, 'sms', 'register', 'failed', 2)).toBe(2);
      expect(gateway.received).toHaveLength(2);
    } finally {
      await t.close();
      await gateway.close();
    }
  });
});

/** A gateway that accepts the message (200) and then sends an answer that never ends, until the client goes. */
async function endlessAnswerServer() {
  const sockets = new Set<Socket>();
  let bytesSent = 0;
  const server: Server = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const pump = () => {
      while (!res.destroyed && bytesSent < 64 * 1024 * 1024 && res.write(chunk)) bytesSent += chunk.length;
      if (!res.destroyed && bytesSent < 64 * 1024 * 1024) res.once('drain', pump);
    };
    pump();
  });
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${portOf(server)}`,
    bytesSent: () => bytesSent,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()) && sockets.forEach((socket) => socket.destroy())),
  };
}

describe('Gateway answers are read up to 64 KiB, never more', () => {
  it('delivers through an HTTP gateway whose answer never ends, without waiting for it or reading it all', async () => {
    const gateway = await endlessAnswerServer();
    const t = await createTestApp({ SMS_TRANSPORT: 'http', SMS_HTTP_URL: gateway.url, SMS_TIMEOUT_MS: '3000' });
    try {
      expect((await requestSmsCode(t, uniquePhone(), 'register')).status).toBe(202);
      // Delivered (the 200 is enough) before SMS_TIMEOUT_MS, without reading the endless answer.
      expect(await codeOutcomes(t, 'sms', 'register', 'sent')).toBe(1);
      expect(await codeOutcomes(t, 'sms', 'register', 'failed', 0)).toBe(0);
      expect(gateway.bytesSent()).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await t.close();
      await gateway.close();
    }
  });

  it('treats an Aliyun answer over the cap as a failure, even when it starts with Code OK', async () => {
    const huge = `{"Code":"OK","Message":"${'x'.repeat(70 * 1024)}"}`;
    const gateway = await httpGateway(() => ({ status: 200, body: huge }));
    const t = await createTestApp({ SMS_TRANSPORT: 'aliyun', ALIYUN_SMS_ENDPOINT: `${gateway.url}/`, ...ALIYUN_SETTINGS });
    try {
      expect((await requestSmsCode(t, uniquePhone(), 'register')).status).toBe(202);
      expect(await codeOutcomes(t, 'sms', 'register', 'failed')).toBe(1);
    } finally {
      await t.close();
      await gateway.close();
    }
  });
});

/** An independent reading of Aliyun's RPC signature rules, to check what the adapter sends. */
function expectedAliyunSignature(query: URLSearchParams, secret: string): string {
  const encode = (value: string) =>
    encodeURIComponent(value)
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%7E/g, '~');
  const pairs = [...query.entries()].filter(([key]) => key !== 'Signature').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = pairs.map(([key, value]) => `${encode(key)}=${encode(value)}`).join('&');
  return createHmac('sha1', `${secret}&`).update(`GET&%2F&${encode(canonical)}`).digest('base64');
}

describe('Aliyun SMS transport', () => {
  const settings = ALIYUN_SETTINGS;

  it('sends a correctly signed SendSms request', async () => {
    const gateway = await httpGateway(() => ({ status: 200, body: '{"Code":"OK","Message":"OK","BizId":"1","RequestId":"r"}' }));
    const t = await createTestApp({ SMS_TRANSPORT: 'aliyun', ALIYUN_SMS_ENDPOINT: `${gateway.url}/`, ...settings });
    try {
      const phone = uniquePhone();
      expect((await requestSmsCode(t, phone, 'login')).status).toBe(202);
      // login codes only go to existing accounts: this number has none, so nothing is sent.
      expect(gateway.received).toHaveLength(0);
      expect((await requestSmsCode(t, phone, 'register')).status).toBe(202);
      expect(await codeOutcomes(t, 'sms', 'register', 'sent')).toBe(1);
      expect(gateway.received).toHaveLength(1);
      const query = new URL(gateway.received[0].url, 'http://x').searchParams;
      expect(Object.fromEntries(query)).toMatchObject({
        Action: 'SendSms',
        Version: '2017-05-25',
        PhoneNumbers: phone.slice(3),
        SignName: '用户中心',
        TemplateCode: 'SMS_123456',
        AccessKeyId: 'LTAI-test-id',
        SignatureMethod: 'HMAC-SHA1',
        SignatureVersion: '1.0',
        Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
      expect(JSON.parse(query.get('TemplateParam')!)).toEqual({ code: expect.stringMatching(/^\d{6}$/) });
      expect(query.get('Signature')).toBe(expectedAliyunSignature(query, settings.ALIYUN_ACCESS_KEY_SECRET));
    } finally {
      await t.close();
      await gateway.close();
    }
  });

  it.each([
    ['refuses the message (HTTP 200, Code not OK)', 200, '{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"limit"}'],
    ['answers a non-200 status, even with Code OK', 503, '{"Code":"OK"}'],
    ['answers something that is not JSON', 200, '<html>OK</html>'],
  ])('counts a failed delivery (after the 202) when Aliyun %s', async (_case, status, body) => {
    const gateway = await httpGateway(() => ({ status, body }));
    const t = await createTestApp({ SMS_TRANSPORT: 'aliyun', ALIYUN_SMS_ENDPOINT: `${gateway.url}/`, ...settings });
    try {
      expect((await requestSmsCode(t, uniquePhone(), 'register')).status).toBe(202);
      expect(await codeOutcomes(t, 'sms', 'register', 'failed')).toBe(1);
      expect(gateway.received).toHaveLength(1);
    } finally {
      await t.close();
      await gateway.close();
    }
  });
});
