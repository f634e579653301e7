import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { solveChallenge } from 'altcha-lib/v1';
import { AppException } from '@/common/errors';
import type { ClientInfo } from '@/common/http/decorators';
import type { AppConfig, HumanCheckConfig } from '@/config/app-config';
import { HumanCheckService } from './human-check.service';
import { HumanCheck, HumanCheckAnswer, HumanCheckOutcome, MAX_ALTCHA_PAYLOAD, MAX_PROVIDER_TOKEN, offersHumanCheck } from './human-check.port';
import { ImageCaptchaService } from './image/image-captcha.service';
import type { RasterCaptchaRenderer } from './image/raster-captcha.renderer';
import { ProofOfWorkService } from './pow/proof-of-work.service';
import { MAX_PROVIDER_ANSWER_BYTES, ProviderCheckService } from './provider/provider-check.service';
import { ManualClock, storeWithClock } from '../../../test/helpers/store-with-clock';

// Each kind of human check, rule by rule, without HTTP in front (test/security/human-check and
// captcha-and-codes prove the same through the routes, in parallel and on two instances).

const client: ClientInfo = { ip: '198.51.100.4', userAgent: null, requestId: 'req-1' };
const code = (attempt: Promise<unknown>) =>
  attempt.then(
    () => 'OK',
    (error: AppException) => error.entry.code,
  );

function humanCheck(kind: HumanCheckConfig['kind'], extra: Partial<AppConfig> = {}, pow: Partial<HumanCheckConfig['pow']> = {}): AppConfig {
  return {
    dataDir: '/nonexistent',
    captcha: { ttlSeconds: 120, fixedText: null, perIp: 20 },
    humanCheck: { kind, pow: { hmacKey: 'a proof-of-work key of 32 characters or more', maxNumber: 1000, ttlSeconds: 60, ...pow }, provider: null },
    ...extra,
  } as AppConfig;
}

describe('offersHumanCheck', () => {
  it('is true when any human-check field is present, even empty, and false when none is', () => {
    expect(offersHumanCheck({})).toBe(false);
    for (const field of ['captchaId', 'captchaText', 'altcha', 'captchaToken'] as const) expect(offersHumanCheck({ [field]: '' })).toBe(true);
  });

  it('keeps the size bounds the DTO and the checks share', () => {
    expect(MAX_ALTCHA_PAYLOAD).toBe(2048);
    expect(MAX_PROVIDER_TOKEN).toBe(4096);
    expect(MAX_PROVIDER_ANSWER_BYTES).toBe(16 * 1024);
  });
});

describe('HumanCheckService', () => {
  function fake(outcome: HumanCheckOutcome) {
    return { verify: jest.fn(async (_answer: HumanCheckAnswer, _client: ClientInfo) => outcome) } satisfies HumanCheck;
  }
  function service(kind: HumanCheckConfig['kind'], image = fake('passed'), pow = fake('passed'), provider = fake('passed')) {
    return {
      checks: new HumanCheckService(image as unknown as ImageCaptchaService, pow as unknown as ProofOfWorkService, provider as unknown as ProviderCheckService, humanCheck(kind)),
      image,
      pow,
      provider,
    };
  }

  it.each([
    ['image', ['image']],
    ['pow', ['pow']],
    ['image+pow', ['image', 'pow']],
    ['provider', ['provider']],
  ] as const)('HUMAN_CHECK=%s asks %j', async (kind, asked) => {
    const { checks, image, pow, provider } = service(kind);
    const answer = { captchaId: 'c', captchaText: 't' };
    await checks.require(answer, client);
    const called = Object.entries({ image, pow, provider })
      .filter(([, check]) => check.verify.mock.calls.length)
      .map(([name]) => name);
    expect(called).toEqual(asked);
    for (const name of asked) expect({ image, pow, provider }[name].verify).toHaveBeenCalledWith(answer, client);
  });

  it('answers CAPTCHA_REQUIRED when an answer is missing (before CAPTCHA_INVALID), CAPTCHA_INVALID when one is wrong, and runs every check either way', async () => {
    const missing = service('image+pow', fake('failed'), fake('missing'));
    expect(await code(missing.checks.require({}, client))).toBe('CAPTCHA_REQUIRED');
    expect(missing.image.verify).toHaveBeenCalled();
    const failed = service('image+pow', fake('failed'), fake('passed'));
    expect(await code(failed.checks.require({}, client))).toBe('CAPTCHA_INVALID');
    const secondFailed = service('image+pow', fake('passed'), fake('failed'));
    expect(await code(secondFailed.checks.require({}, client))).toBe('CAPTCHA_INVALID');
    expect(secondFailed.image.verify).toHaveBeenCalled();
    expect(await code(service('image+pow').checks.require({}, client))).toBe('OK');
  });
});

describe('ImageCaptchaService', () => {
  function setup(kind: HumanCheckConfig['kind'] = 'image', fixedText: string | null = null) {
    const { clock, kv } = storeWithClock();
    const renderer = { randomText: jest.fn(() => 'AbC7'), render: jest.fn(async (text: string) => Buffer.from(`png:${text}`)) };
    const config = humanCheck(kind, { captcha: { ttlSeconds: 120, fixedText, perIp: 20 } } as Partial<AppConfig>);
    return { captchas: new ImageCaptchaService(kv, renderer as unknown as RasterCaptchaRenderer, config), kv, clock, renderer };
  }

  it('is served only when HUMAN_CHECK names it', async () => {
    expect(setup('image').captchas.enabled).toBe(true);
    expect(setup('image+pow').captchas.enabled).toBe(true);
    expect(setup('pow').captchas.enabled).toBe(false);
    const { captchas, renderer } = setup('provider');
    expect(await code(captchas.issue('id-1', '203.0.113.1'))).toBe('NOT_FOUND');
    expect(renderer.render).not.toHaveBeenCalled();
  });

  it('draws a random text (or CAPTCHA_FIXED_TEXT) and keeps only its hash', async () => {
    const { captchas, kv, renderer } = setup();
    expect((await captchas.issue('id-1', '203.0.113.1')).toString()).toBe('png:AbC7');
    expect(renderer.render).toHaveBeenCalledWith('AbC7');
    const stored = await kv.get('captcha:id-1');
    // the SHA-256 of the lower-cased answer: instances of two releases share pending captchas during an upgrade
    expect(stored).toBe(createHash('sha256').update('abc7').digest('hex'));
    const fixed = setup('image', 'zz99');
    expect((await fixed.captchas.issue('id-1', '203.0.113.1')).toString()).toBe('png:zz99');
    expect(fixed.renderer.randomText).not.toHaveBeenCalled();
  });

  it('accepts the answer once, whatever its case and surrounding spaces, and under any case of the id', async () => {
    const { captchas } = setup();
    await captchas.issue('ID-One', '203.0.113.1');
    expect(await captchas.verify({ captchaId: 'id-one', captchaText: '  aBc7 ' })).toBe('passed');
    expect(await captchas.verify({ captchaId: 'id-one', captchaText: 'abc7' })).toBe('failed');
  });

  it('a wrong answer spends the captcha', async () => {
    const { captchas } = setup();
    await captchas.issue('id-1', '203.0.113.1');
    expect(await captchas.verify({ captchaId: 'id-1', captchaText: 'abc8' })).toBe('failed');
    expect(await captchas.verify({ captchaId: 'id-1', captchaText: 'abc7' })).toBe('failed');
  });

  it('an id without an answer is missing, and spends the captcha too', async () => {
    const { captchas } = setup();
    await captchas.issue('id-1', '203.0.113.1');
    expect(await captchas.verify({ captchaId: 'id-1' })).toBe('missing');
    expect(await captchas.verify({ captchaId: 'id-1', captchaText: 'abc7' })).toBe('failed');
    expect(await captchas.verify({ captchaText: 'abc7' })).toBe('missing');
    expect(await captchas.verify({ captchaId: '', captchaText: 'abc7' })).toBe('missing');
  });

  it('an unknown or expired captcha fails', async () => {
    const { captchas, clock } = setup();
    expect(await captchas.verify({ captchaId: 'never', captchaText: 'abc7' })).toBe('failed');
    await captchas.issue('id-1', '203.0.113.1');
    clock.advance(120_000);
    expect(await captchas.verify({ captchaId: 'id-1', captchaText: 'abc7' })).toBe('failed');
    await captchas.issue('id-2', '203.0.113.1');
    clock.advance(119_999);
    expect(await captchas.verify({ captchaId: 'id-2', captchaText: 'abc7' })).toBe('passed');
  });
});

describe('ProofOfWorkService', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function setup(kind: HumanCheckConfig['kind'] = 'pow', pow: Partial<HumanCheckConfig['pow']> = {}) {
    const { clock, kv } = storeWithClock();
    const dataDir = mkdtempSync(join(tmpdir(), 'uc-pow-'));
    dirs.push(dataDir);
    return { pow: new ProofOfWorkService(kv, clock, { ...humanCheck(kind, {}, pow), dataDir } as AppConfig), kv, clock };
  }

  async function solved(service: ProofOfWorkService, change: Record<string, unknown> = {}) {
    const challenge = await service.challenge();
    const solution = await solveChallenge(challenge.challenge, challenge.salt, challenge.algorithm, challenge.maxnumber).promise;
    const payload = { algorithm: challenge.algorithm, challenge: challenge.challenge, number: solution!.number, salt: challenge.salt, signature: challenge.signature, ...change };
    return { challenge, altcha: Buffer.from(JSON.stringify(payload)).toString('base64') };
  }

  it('is served only when HUMAN_CHECK names it', async () => {
    expect(setup('pow').pow.enabled).toBe(true);
    expect(setup('image+pow').pow.enabled).toBe(true);
    expect(setup('image').pow.enabled).toBe(false);
    expect(await code(Promise.resolve().then(() => setup('image').pow.challenge()))).toBe('NOT_FOUND');
  });

  it('issues a SHA-256 challenge of HUMAN_CHECK_POW_MAX_NUMBER that expires after HUMAN_CHECK_POW_TTL by our clock', async () => {
    const { pow, clock } = setup();
    const challenge = await pow.challenge();
    expect(challenge).toMatchObject({ algorithm: 'SHA-256', maxnumber: 1000 });
    expect(new URLSearchParams(challenge.salt.split('?')[1]).get('expires')).toBe(String((clock.now() + 60_000) / 1000));
  });

  it('accepts a solution once', async () => {
    const { pow } = setup();
    const { altcha } = await solved(pow);
    expect(await pow.verify({ altcha })).toBe('passed');
    expect(await pow.verify({ altcha })).toBe('failed');
  });

  it('keeps the spent mark until the challenge has expired, and a little longer', async () => {
    const { pow, kv, clock } = setup();
    const { altcha, challenge } = await solved(pow);
    clock.advance(20_000);
    await pow.verify({ altcha });
    expect(await kv.ttl(`altcha-spent:${createHash('sha256').update(challenge.challenge).digest('hex')}`)).toBe(41_000);
  });

  it('refuses an expired challenge, by our clock', async () => {
    const { pow, clock } = setup();
    const { altcha } = await solved(pow);
    clock.advance(60_000);
    expect(await pow.verify({ altcha })).toBe('failed');
    const next = await solved(pow);
    clock.advance(59_999);
    expect(await pow.verify({ altcha: next.altcha })).toBe('passed');
  });

  it('refuses a challenge signed with another key, or a wrong number', async () => {
    const ours = setup();
    const theirs = setup('pow', { hmacKey: 'another proof-of-work key, 32 characters+' });
    const { altcha } = await solved(theirs.pow);
    expect(await ours.pow.verify({ altcha })).toBe('failed');
    const wrong = await solved(ours.pow);
    const payload = JSON.parse(Buffer.from(wrong.altcha, 'base64').toString()) as { number: number };
    const off = await solved(ours.pow, { number: (payload.number + 1) % 1001 });
    expect(await ours.pow.verify({ altcha: off.altcha })).toBe('failed');
  });

  it('with HUMAN_CHECK_POW_HMAC_KEY set, every instance (whatever its DATA_DIR) checks the others\' challenges', async () => {
    const one = setup();
    const other = setup();
    expect(await other.pow.verify({ altcha: (await solved(one.pow)).altcha })).toBe('passed');
  });

  it('signs with a key generated into DATA_DIR when none is configured, the same one after a restart', async () => {
    const first = setup('pow', { hmacKey: null });
    const dataDir = (first.pow as unknown as { config: AppConfig }).config.dataDir;
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { altcha } = await solved(first.pow);
    expect(readFileSync(join(dataDir, 'keys', 'altcha-hmac.key'), 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(warn).toHaveBeenCalledWith(`Generated a development key in ${join(dataDir, 'keys', 'altcha-hmac.key')}; set HUMAN_CHECK_POW_HMAC_KEY in production`);
    expect((warn.mock.contexts[0] as unknown as { context: string }).context).toBe('HumanCheck');
    warn.mockRestore();
    const restarted = new ProofOfWorkService(first.kv, new ManualClock(), { ...humanCheck('pow', {}, { hmacKey: null }), dataDir: (first.pow as unknown as { config: AppConfig }).config.dataDir } as AppConfig);
    expect(await restarted.verify({ altcha })).toBe('passed');
    const configured = setup();
    expect(await configured.pow.verify({ altcha: (await solved(first.pow)).altcha })).toBe('failed');
  });

  it('answers missing without a payload, and failed for anything malformed', async () => {
    const { pow } = setup();
    expect(await pow.verify({})).toBe('missing');
    expect(await pow.verify({ altcha: '' })).toBe('missing');
    const base64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');
    expect(await pow.verify({ altcha: base64('not json') })).toBe('failed');
    expect(await pow.verify({ altcha: base64(null) })).toBe('failed');
    const good = await solved(pow);
    const payload = JSON.parse(Buffer.from(good.altcha, 'base64').toString()) as Record<string, unknown>;
    for (const change of [{ algorithm: 'SHA-512' }, { salt: 1 }, { challenge: null }, { signature: 2 }, { number: '1' }, { number: 1.5 }, { salt: (payload.salt as string).split('?')[0] }]) {
      expect(await pow.verify({ altcha: base64({ ...payload, ...change }) })).toBe('failed');
    }
    expect(await pow.verify({ altcha: good.altcha })).toBe('passed');
  });

  it('refuses a payload over MAX_ALTCHA_PAYLOAD unread', async () => {
    const { pow } = setup();
    const good = await solved(pow);
    const padded = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(good.altcha, 'base64').toString()), pad: 'x'.repeat(MAX_ALTCHA_PAYLOAD) })).toString('base64');
    expect(await pow.verify({ altcha: padded })).toBe('failed');
    const exactly = good.altcha + ' '.repeat(MAX_ALTCHA_PAYLOAD - good.altcha.length);
    expect(await pow.verify({ altcha: exactly })).toBe('passed');
  });
});

describe('ProviderCheckService', () => {
  let server: Server;
  let url: string;
  let answer: (request: IncomingMessage, body: string, response: ServerResponse) => void;
  const received: { body: string; headers: IncomingMessage['headers'] }[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ body, headers: request.headers });
        answer(request, body, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/siteverify`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (received.length = 0));

  const provider = (timeoutMs = 2000) => new ProviderCheckService({ humanCheck: { kind: 'provider', pow: null, provider: { url, secret: 's3cret', siteKey: null, timeoutMs } } } as unknown as AppConfig);
  const json = (status: number, value: unknown) => (_request: IncomingMessage, _body: string, response: ServerResponse) => {
    response.writeHead(status, { 'Content-Type': 'application/json' });
    response.end(typeof value === 'string' ? value : JSON.stringify(value));
  };

  it("posts the token, the secret and the client's IP form-encoded, and passes on success: true", async () => {
    answer = json(200, { success: true });
    expect(await provider().verify({ captchaToken: 'tok en' }, client)).toBe('passed');
    expect(received).toHaveLength(1);
    expect(Object.fromEntries(new URLSearchParams(received[0].body))).toEqual({ secret: 's3cret', response: 'tok en', remoteip: '198.51.100.4' });
    expect(received[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(received[0].headers.accept).toBe('application/json');
  });

  it('fails closed on anything but success: true', async () => {
    for (const body of [{ success: false }, { success: 'true' }, {}, null, 'not json', '']) {
      answer = json(200, body === null ? 'null' : body);
      expect(await provider().verify({ captchaToken: 'tok' }, client)).toBe('failed');
    }
    answer = json(500, { success: true });
    expect(await provider().verify({ captchaToken: 'tok' }, client)).toBe('failed');
    answer = (_request, _body, response) => {
      response.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' });
      response.end();
    };
    expect(await provider().verify({ captchaToken: 'tok' }, client)).toBe('failed');
  });

  it('fails closed on an answer over MAX_PROVIDER_ANSWER_BYTES', async () => {
    answer = json(200, JSON.stringify({ success: true, pad: 'x'.repeat(MAX_PROVIDER_ANSWER_BYTES) }));
    expect(await provider().verify({ captchaToken: 'tok' }, client)).toBe('failed');
  });

  it('fails closed when the provider does not answer in HUMAN_CHECK_PROVIDER_TIMEOUT_MS, or cannot be reached', async () => {
    answer = (_request, _body, response) => void setTimeout(() => json(200, { success: true })(_request, _body, response), 1000);
    expect(await provider(100).verify({ captchaToken: 'tok' }, client)).toBe('failed');
    const unreachable = new ProviderCheckService({ humanCheck: { kind: 'provider', pow: null, provider: { url: 'http://127.0.0.1:1/siteverify', secret: 's', siteKey: null, timeoutMs: 500 } } } as unknown as AppConfig);
    expect(await unreachable.verify({ captchaToken: 'tok' }, client)).toBe('failed');
  });

  it('logs why it failed closed (never the token or the secret)', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      answer = json(503, { success: true });
      await provider().verify({ captchaToken: 'tok' }, client);
      answer = json(200, 'not json');
      await provider().verify({ captchaToken: 'tok' }, client);
      answer = json(200, 'x'.repeat(MAX_PROVIDER_ANSWER_BYTES + 1));
      await provider().verify({ captchaToken: 'tok' }, client);
      answer = (_request, _body, response) => void setTimeout(() => json(200, { success: true })(_request, _body, response), 1000);
      await provider(100).verify({ captchaToken: 'tok' }, client);
      answer = (_request, _body, response) => {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.write('{"success": ');
        setTimeout(() => response.end('true}'), 1000);
      };
      expect(await provider(300).verify({ captchaToken: 'tok' }, client)).toBe('failed');
      expect(warn.mock.contexts.map((context) => (context as unknown as { context: string }).context)).toEqual(Array(5).fill('HumanCheckProvider'));
      expect(warn.mock.calls.map(([message]) => message)).toEqual([
        'Human check provider failed closed: HTTP 503',
        'Human check provider failed closed: a body that is not JSON',
        'Human check provider failed closed: an answer over the size limit, or cut short',
        'Human check provider failed closed: no answer (TimeoutError)',
        'Human check provider failed closed: an answer over the size limit, or cut short',
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('answers missing without a token, and refuses an oversized token (or no provider) without asking', async () => {
    answer = json(200, { success: true });
    expect(await provider().verify({}, client)).toBe('missing');
    expect(await provider().verify({ captchaToken: '' }, client)).toBe('missing');
    expect(await provider().verify({ captchaToken: 'x'.repeat(MAX_PROVIDER_TOKEN + 1) }, client)).toBe('failed');
    expect(await new ProviderCheckService({ humanCheck: { kind: 'image', pow: null, provider: null } } as unknown as AppConfig).verify({ captchaToken: 'tok' }, client)).toBe('failed');
    expect(received).toHaveLength(0);
    expect(await provider().verify({ captchaToken: 'x'.repeat(MAX_PROVIDER_TOKEN) }, client)).toBe('passed');
  });
});
