import * as crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { SystemClock } from '@/common/clock';
import { AppException } from '@/common/errors';
import { KvStore } from '@/common/kv/kv-store';
import { MemoryKvStore } from '@/common/kv/memory-kv.store';
import { loadConfig } from '@/config/app-config';
import type { MetricsService } from '@/modules/operations/metrics.service';
import { CodePurpose, DeliveryError, MailSender, OutgoingMessage, SmsSender } from '../senders/message';
import { ManualClock, storeWithClock } from '../../../../test/helpers/store-with-clock';
import { noticeMessage } from './messages';
import { CodeRequest, VerificationCodesService } from './verification-codes.service';

// randomInt stays the real one unless a test fixes the next code.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof crypto>('node:crypto');
  return { ...actual, randomInt: jest.fn(actual.randomInt) };
});
const randomInt = crypto.randomInt as unknown as jest.Mock;

/**
 * The in-process store, but every call first yields to the event loop, as a call to Redis does:
 * other requests run in between, which is exactly when "compare, then count" lets a burst through.
 */
function withLatency(store: KvStore): KvStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setImmediate(resolve));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('VerificationCodesService.consume: count before compare', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'uc-codes-'));
  const sent: OutgoingMessage[] = [];
  const sender = { send: async (message: OutgoingMessage) => void sent.push(message) };
  const memory = new MemoryKvStore(new SystemClock());
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, CODE_HMAC_KEY: 'a test key that is long enough to use' });
  const codes = new VerificationCodesService(withLatency(memory), new SystemClock(), sender as SmsSender, sender as MailSender, config);
  afterAll(async () => {
    await memory.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('compares at most CODE_MAX_ATTEMPTS of 300 parallel guesses, even when every store call waits for the network', async () => {
    const request = { channel: 'email' as const, destination: 'burst@example.com', purpose: 'reset_password' as const };
    await codes.send({ ...request, ip: '192.0.2.1', language: 'en', deliver: true });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const code = sent.pop()!.code!;
    const guesses = Array.from({ length: 300 }, (_, i) => (i === 150 ? code : String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0')));
    const outcomes = await Promise.all(guesses.map((guess) => codes.consume(request, guess).then(() => 'OK', (error: AppException) => error.entry.code)));
    expect(outcomes.filter((outcome) => outcome === 'CODE_INVALID' || outcome === 'OK').length).toBeLessThanOrEqual(config.codes.maxAttempts);
    expect(outcomes[150]).toBe('CODE_EXPIRED');
  });
});

// Each limit and rule of send/consume/forget/notify, one at a time, on the in-process store with a
// clock moved by hand (the e2e specs prove them over HTTP, in parallel and on two instances).
describe('VerificationCodesService: the rules one by one', () => {
  const dataDirs: string[] = [];
  afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function setup(env: Record<string, string> = {}, shared?: { clock: ManualClock; kv: MemoryKvStore }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'uc-codes-'));
    dataDirs.push(dataDir);
    const { clock, kv } = shared ?? storeWithClock();
    const sent: OutgoingMessage[] = [];
    const failing: { value: Error | null } = { value: null };
    const transports: string[] = [];
    const transport = (name: string) => ({
      send: async (message: OutgoingMessage) => {
        if (failing.value) throw failing.value;
        transports.push(`${name}:${message.to}`);
        sent.push(message);
      },
    });
    const metrics = { codeSent: jest.fn() };
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, CODE_HMAC_KEY: 'a test key that is long enough to use', ...env });
    const codes = new VerificationCodesService(kv, clock, transport('sms') as SmsSender, transport('mail') as MailSender, config, metrics as unknown as MetricsService);
    return { codes, kv, clock, sent, failing, metrics, config, transports };
  }

  const email = { channel: 'email' as const, destination: 'ann@example.com', purpose: 'reset_password' as const };
  const phone = { channel: 'sms' as const, destination: '+8613800138000', purpose: 'login' as const };
  const ip = '192.0.2.1';
  const request = (target: { channel: 'email' | 'sms'; destination: string; purpose: CodePurpose }, extra: Partial<CodeRequest> = {}): CodeRequest => ({ ...target, ip, language: 'en', deliver: true, ...extra });
  const flush = () => new Promise((resolve) => setTimeout(resolve, 5));
  const outcome = (attempt: Promise<unknown>) =>
    attempt.then(
      () => 'OK',
      (error: AppException) => ({ code: error.entry.code, retryAfterSeconds: error.extra.retryAfterSeconds }),
    );
  const code = (attempt: Promise<unknown>) => outcome(attempt).then((result) => (typeof result === 'string' ? result : result.code));

  it('sends 6 digits (leading zeros kept) in a message to the destination, and answers the ticket', async () => {
    const { codes, sent, metrics } = setup({ CODE_TTL: '300', CODE_RESEND_SECONDS: '45' });
    randomInt.mockReturnValueOnce(4217);
    expect(await codes.send(request(email))).toEqual({ expiresIn: 300, resendAfter: 45 });
    await flush();
    expect(sent).toEqual([
      {
        channel: 'email',
        to: 'ann@example.com',
        purpose: 'reset_password',
        code: '004217',
        language: 'en',
        subject: 'Your verification code',
        text: 'Your verification code is 004217 (to reset your password). It expires in 5 minutes. Never share it with anyone.',
      },
    ]);
    expect(metrics.codeSent).toHaveBeenCalledWith('email', 'reset_password', 'sent');
    expect(await code(codes.consume(email, '004217'))).toBe('OK');
  });

  it('draws the code from the whole range 000000-999999', async () => {
    const { codes } = setup();
    randomInt.mockClear();
    await codes.send(request(email));
    expect(randomInt).toHaveBeenCalledWith(0, 1_000_000);
  });

  it('a withheld code (deliver false) reaches no one, is counted as withheld, and is still stored like a real one', async () => {
    const { codes, sent, metrics } = setup();
    randomInt.mockReturnValueOnce(123456);
    expect(await codes.send(request(email, { deliver: false }))).toEqual({ expiresIn: 600, resendAfter: 60 });
    await flush();
    expect(sent).toEqual([]);
    expect(metrics.codeSent).toHaveBeenCalledTimes(1);
    expect(metrics.codeSent).toHaveBeenCalledWith('email', 'reset_password', 'withheld');
    expect(await code(codes.consume(email, '123456'))).toBe('OK');
  });

  it('a failed delivery is counted, logged with the address masked, and drops the code; the cooldown stays spent', async () => {
    const { codes, failing, metrics } = setup();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    randomInt.mockReturnValueOnce(123456);
    failing.value = new DeliveryError('test', 'gateway down');
    await codes.send(request(email));
    await flush();
    expect(metrics.codeSent).toHaveBeenCalledWith('email', 'reset_password', 'failed');
    expect(warn).toHaveBeenCalledWith('Delivery of email purpose=reset_password to a***@example.com failed: test: gateway down');
    expect((warn.mock.contexts[0] as unknown as { context: string }).context).toBe('VerificationCodes');
    // a transport's own error text is not logged (it may hold the whole address or a credential)
    failing.value = new Error('connect to ann@example.com refused');
    await codes.send(request({ ...email, purpose: 'register' }));
    await flush();
    expect(warn).toHaveBeenLastCalledWith('Delivery of email purpose=register to a***@example.com failed: transport error');
    warn.mockRestore();
    expect(await code(codes.consume(email, '123456'))).toBe('CODE_EXPIRED');
    expect(await code(codes.send(request(email)))).toBe('TOO_MANY_REQUESTS');
  });

  it('works without metrics (they are optional): withheld, sent and failed codes alike', async () => {
    const { kv, clock, config } = setup();
    const failing: { value: Error | null } = { value: null };
    const sender = { send: async () => void (failing.value && (await Promise.reject(failing.value))) };
    const bare = new VerificationCodesService(kv, clock, sender as unknown as SmsSender, sender as unknown as MailSender, config);
    expect(await code(bare.send(request(email, { deliver: false })))).toBe('OK');
    expect(await code(bare.send(request({ ...email, purpose: 'register' })))).toBe('OK');
    failing.value = new DeliveryError('test', 'down');
    randomInt.mockReturnValueOnce(654321);
    await bare.send(request({ ...email, purpose: 'change_email' }));
    await flush();
    expect(await code(bare.consume({ ...email, purpose: 'change_email' }, '654321'))).toBe('CODE_EXPIRED');
  });

  it('SMS codes and notices go through the SMS transport, email ones through the mail transport', async () => {
    const { codes, transports } = setup();
    await codes.send(request(phone));
    await codes.send(request(email));
    await flush();
    await codes.notify({ channel: 'sms', destination: '+8613900139000' }, 'password_changed', 'en');
    await codes.notify({ channel: 'email', destination: 'bob@example.com' }, 'password_changed', 'en');
    expect(transports.sort()).toEqual(['mail:ann@example.com', 'mail:bob@example.com', 'sms:+8613800138000', 'sms:+8613900139000']);
  });

  it('keeps only an HMAC of the code (hex), never the code', async () => {
    const { codes, kv } = setup();
    randomInt.mockReturnValueOnce(246810);
    await codes.send(request(email, { deliver: false }));
    const stored = await kv.get('code:email:reset_password:ann@example.com');
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toContain('246810');
  });

  it('counts an email code on exactly three counters, and an SMS code on the daily SMS budget too', async () => {
    const { codes, kv } = setup();
    const reserve = jest.spyOn(kv, 'reserveAttempts');
    await codes.send(request(email));
    // all in one atomic step, so a burst cannot pass one cap between another's check and count
    expect(reserve.mock.calls.map(([slots]) => slots.map(({ key }) => key))).toStrictEqual([['code-day-destination:email:ann@example.com', `code-day-ip:${ip}`, `code-hour-ip:${ip}`]]);
    reserve.mockClear();
    await codes.send(request(phone));
    expect(reserve.mock.calls.map(([slots]) => slots.map(({ key }) => key))).toStrictEqual([[`code-day-destination:sms:${phone.destination}`, `code-day-ip:${ip}`, `code-hour-ip:${ip}`, 'sms-budget:2026-01-01']]);
  });

  it('one code per destination and purpose each CODE_RESEND_SECONDS: 429 with the seconds left', async () => {
    const { codes, clock } = setup({ CODE_RESEND_SECONDS: '60' });
    await codes.send(request(email));
    clock.advance(15_000);
    expect(await outcome(codes.send(request(email)))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 45 });
    expect(await code(codes.send(request({ ...email, purpose: 'register' })))).toBe('OK');
    expect(await code(codes.send(request({ ...email, destination: 'bob@example.com' })))).toBe('OK');
    clock.advance(45_000);
    expect(await code(codes.send(request(email)))).toBe('OK');
  });

  it('caps codes per destination per day; a refused request leaves every counter as it was', async () => {
    const { codes, clock, kv } = setup({ CODE_RESEND_SECONDS: '1', CODE_PER_DESTINATION_PER_DAY: '2', CODE_PER_IP_PER_HOUR: '3' });
    await codes.send(request(email));
    clock.advance(1000);
    await codes.send(request(email));
    clock.advance(1000);
    expect(await outcome(codes.send(request(email)))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 86_400 - 2 });
    expect(await kv.get('code-day-destination:email:ann@example.com')).toBe('2');
    expect(await kv.get(`code-hour-ip:${ip}`)).toBe('2');
    expect(await kv.get(`code-day-ip:${ip}`)).toBe('2');
    // the IP's hourly count was given back, so it still has one code for another destination
    expect(await code(codes.send(request({ ...email, destination: 'bob@example.com' })))).toBe('OK');
    expect(await code(codes.send(request({ ...email, destination: 'cat@example.com' })))).toBe('TOO_MANY_REQUESTS');
    clock.advance(86_400_000);
    expect(await code(codes.send(request(email)))).toBe('OK');
  });

  it('caps codes per IP per hour, whatever the destination, with the seconds left in the hour', async () => {
    const { codes, clock } = setup({ CODE_PER_IP_PER_HOUR: '2' });
    await codes.send(request(email));
    await codes.send(request({ ...email, destination: 'bob@example.com' }));
    clock.advance(600_000);
    expect(await outcome(codes.send(request({ ...email, destination: 'cat@example.com' })))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 3000 });
    expect(await code(codes.send(request({ ...email, destination: 'eve@example.com' }, { ip: '192.0.2.2' })))).toBe('OK');
    clock.advance(3_000_000);
    expect(await code(codes.send(request({ ...email, destination: 'dan@example.com' })))).toBe('OK');
  });

  it('caps codes per IP per day, and gives back the counts taken before the refusal', async () => {
    const { codes, clock, kv } = setup({ CODE_PER_IP_PER_DAY: '2' });
    await codes.send(request(email));
    await codes.send(request({ ...email, destination: 'bob@example.com' }));
    const release = jest.spyOn(kv, 'releaseAttempt');
    expect(await outcome(codes.send(request({ ...email, destination: 'cat@example.com' })))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 86_400 });
    // the IP day cap refused: the destination and IP hour slots granted in the same step are given back
    expect(release.mock.calls.map(([key]) => key)).toStrictEqual(['code-day-destination:email:cat@example.com', `code-hour-ip:${ip}`]);
    expect(await kv.get('code-day-destination:email:cat@example.com')).toBe('0');
    expect(await kv.get(`code-hour-ip:${ip}`)).toBe('2');
    expect(await kv.get(`code-day-ip:${ip}`)).toBe('2');
    clock.advance(86_400_000);
    expect(await code(codes.send(request({ ...email, destination: 'cat@example.com' })))).toBe('OK');
  });

  it('a give-back keeps each window: an hourly count that ran out meanwhile stays gone, not a day-long -1', async () => {
    const { codes, clock, kv } = setup({ CODE_PER_IP_PER_DAY: '1' });
    await codes.send(request(email));
    const reserve = kv.reserveAttempts.bind(kv);
    // the hour ends between the step that counts and the give-back
    jest.spyOn(kv, 'reserveAttempts').mockImplementationOnce(async (slots) => {
      const reservations = await reserve(slots);
      clock.advance(3_600_000);
      return reservations;
    });
    expect(await code(codes.send(request({ ...email, destination: 'bob@example.com' })))).toBe('TOO_MANY_REQUESTS');
    expect(await kv.get(`code-hour-ip:${ip}`)).toBeNull();
    expect(await kv.ttl('code-day-destination:email:bob@example.com')).toBe(86_400_000 - 3_600_000);
  });

  it('sends SMS only to SMS_ALLOWED_COUNTRY_CODES', async () => {
    const { codes } = setup({ SMS_ALLOWED_COUNTRY_CODES: '86,+44' });
    expect(codes.isPhoneAllowed('+8613800138000')).toBe(true);
    expect(codes.isPhoneAllowed('+447700900123')).toBe(true);
    expect(codes.isPhoneAllowed('+15555550100')).toBe(false);
    expect(await code(codes.send(request({ ...phone, destination: '+15555550100' })))).toBe('PHONE_NOT_ALLOWED');
    expect(await code(codes.send(request({ ...phone, destination: '+447700900123' })))).toBe('OK');
  });

  it("spends the global SMS_DAILY_BUDGET per UTC day (email does not count), and a refusal gives back the destination's and IP's counts", async () => {
    const { codes, clock, kv } = setup({ SMS_DAILY_BUDGET: '1' });
    await codes.send(request(phone));
    expect(await outcome(codes.send(request({ ...phone, destination: '+8613900139000' }, { ip: '192.0.2.9' })))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 86_400 });
    expect(await kv.get('sms-budget:2026-01-01')).toBe('1');
    expect(await kv.get('code-day-destination:sms:+8613900139000')).toBe('0');
    expect(await kv.get('code-hour-ip:192.0.2.9')).toBe('0');
    expect(await kv.get('code-day-ip:192.0.2.9')).toBe('0');
    expect(await code(codes.send(request(email)))).toBe('OK');
    clock.advance(12 * 3600_000); // the next UTC day: a new budget
    expect(await code(codes.send(request({ ...phone, destination: '+8613700137000' })))).toBe('OK');
  });

  it('a code works once, only for its channel, destination and purpose', async () => {
    const { codes, sent } = setup();
    await codes.send(request(email));
    await flush();
    const right = sent[0].code!;
    expect(await code(codes.consume({ ...email, purpose: 'register' }, right))).toBe('CODE_EXPIRED');
    expect(await code(codes.consume({ ...email, destination: 'bob@example.com' }, right))).toBe('CODE_EXPIRED');
    expect(await code(codes.consume(email, right))).toBe('OK');
    expect(await code(codes.consume(email, right))).toBe('CODE_EXPIRED');
  });

  it('a code expires after CODE_TTL', async () => {
    const { codes, sent, clock } = setup({ CODE_TTL: '120' });
    await codes.send(request(email));
    await flush();
    clock.advance(119_999);
    await codes.send(request({ ...email, purpose: 'register' }));
    await flush();
    clock.advance(1);
    expect(await code(codes.consume(email, sent[0].code!))).toBe('CODE_EXPIRED');
    expect(await code(codes.consume({ ...email, purpose: 'register' }, sent[1].code!))).toBe('OK');
  });

  it('a wrong code answers CODE_INVALID; the CODE_MAX_ATTEMPTS-th wrong try burns the code', async () => {
    const { codes, sent, kv } = setup({ CODE_MAX_ATTEMPTS: '3' });
    await codes.send(request(email));
    await flush();
    const right = sent[0].code!;
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    expect(await code(codes.consume(email, wrong))).toBe('CODE_INVALID');
    expect(await code(codes.consume(email, undefined))).toBe('CODE_INVALID');
    expect(await kv.get('code:email:reset_password:ann@example.com')).not.toBeNull();
    expect(await code(codes.consume(email, 'abc'))).toBe('CODE_INVALID');
    expect(await kv.get('code:email:reset_password:ann@example.com')).toBeNull();
    expect(await code(codes.consume(email, right))).toBe('CODE_EXPIRED');
  });

  it('the right code still works after CODE_MAX_ATTEMPTS - 1 wrong tries, and a new code starts a new series', async () => {
    const { codes, sent, clock } = setup({ CODE_MAX_ATTEMPTS: '3', CODE_RESEND_SECONDS: '1' });
    await codes.send(request(email));
    await flush();
    expect(await code(codes.consume(email, '0000000'))).toBe('CODE_INVALID');
    expect(await code(codes.consume(email, '0000000'))).toBe('CODE_INVALID');
    expect(await code(codes.consume(email, '0000000'))).toBe('CODE_INVALID');
    clock.advance(1000);
    await codes.send(request(email));
    await flush();
    expect(await code(codes.consume(email, '0000000'))).toBe('CODE_INVALID');
    expect(await code(codes.consume(email, '0000000'))).toBe('CODE_INVALID');
    expect(await code(codes.consume(email, sent[1].code!))).toBe('OK');
  });

  it('the attempt series lives as long as a code: a burned code stays refused until then', async () => {
    const { codes, kv } = setup({ CODE_MAX_ATTEMPTS: '1', CODE_TTL: '120' });
    await codes.send(request(email));
    await code(codes.consume(email, '0000000'));
    expect(await kv.ttl('code-attempts:email:reset_password:ann@example.com')).toBe(120_000);
  });

  it('of two right tries at once, exactly one succeeds', async () => {
    const { codes, sent } = setup();
    await codes.send(request(email));
    await flush();
    const right = sent[0].code!;
    expect((await Promise.all([code(codes.consume(email, right)), code(codes.consume(email, right))])).sort()).toEqual(['CODE_EXPIRED', 'OK']);
  });

  it('another instance with the same CODE_HMAC_KEY (and its own DATA_DIR) checks the code', async () => {
    const one = setup();
    const other = setup({}, { clock: one.clock, kv: one.kv });
    await one.codes.send(request(email));
    await flush();
    expect(await code(other.codes.consume(email, one.sent[0].code!))).toBe('OK');
    const third = setup({ CODE_HMAC_KEY: 'another key, just as long as the first one' }, { clock: one.clock, kv: one.kv });
    await one.codes.send(request({ ...email, purpose: 'register' }));
    await flush();
    expect(await code(third.codes.consume({ ...email, purpose: 'register' }, one.sent[1].code!))).toBe('CODE_INVALID');
  });

  it('forget drops every pending code of each destination, for every purpose of its channel, and nothing else', async () => {
    const { codes, kv } = setup();
    const smsPurposes = ['register', 'login', 'reset_password', 'change_phone'] as const;
    const emailPurposes = ['register', 'reset_password', 'change_email', 'verify_email'] as const;
    for (const purpose of smsPurposes) await codes.send(request({ ...phone, purpose }));
    for (const purpose of emailPurposes) await codes.send(request({ ...email, purpose }));
    await codes.send(request({ ...email, destination: 'bob@example.com' }));
    const drop = jest.spyOn(kv, 'delete');
    await codes.forget([{ channel: 'sms', destination: phone.destination }]);
    expect(drop).toHaveBeenCalledWith(...smsPurposes.map((purpose) => `code:sms:${purpose}:${phone.destination}`));
    for (const purpose of smsPurposes) expect(await kv.get(`code:sms:${purpose}:${phone.destination}`)).toBeNull();
    for (const purpose of emailPurposes) expect(await kv.get(`code:email:${purpose}:${email.destination}`)).not.toBeNull();
    await codes.forget([{ channel: 'email', destination: email.destination }]);
    for (const purpose of emailPurposes) expect(await kv.get(`code:email:${purpose}:${email.destination}`)).toBeNull();
    expect(await kv.get('code:email:reset_password:bob@example.com')).not.toBeNull();
  });

  it('notify sends a notice without a code, in the language asked for; a failed notice is swallowed', async () => {
    const { codes, sent, failing } = setup();
    await codes.notify({ channel: 'sms', destination: phone.destination }, 'password_changed', 'zh-CN');
    expect(sent).toEqual([{ channel: 'sms', to: phone.destination, purpose: 'notice', code: null, language: 'zh-CN', ...noticeMessage('password_changed', 'zh-CN') }]);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    failing.value = new DeliveryError('test', 'gateway down');
    await expect(codes.notify({ channel: 'email', destination: email.destination }, 'password_reset', 'en')).resolves.toBeUndefined();
    expect(warn).toHaveBeenLastCalledWith('Notice password_reset to a***@example.com failed: DELIVERY_FAILED');
    warn.mockRestore();
  });
});
