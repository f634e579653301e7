import { AppException } from '@/common/errors';
import type { AppConfig } from '@/config/app-config';
import { classifyIdentifier } from '@/modules/users/identity';
import { storeWithClock } from '../../../test/helpers/store-with-clock';
import { LoginThrottle, PasswordAttempt } from './login-throttle.service';

// The rules of "count before compare", one at a time, on the in-process store with a clock moved by
// hand. The e2e specs (test/security/sign-in, test/e2e/login) prove the same rules over HTTP, in
// parallel and on two instances; these pin each number and each branch fast enough for mutation testing.

const HOUR = 3600_000;
const LOCK_SECONDS = 900;

type LoginConfig = AppConfig['login'];

function setup(login: Partial<LoginConfig> = {}) {
  const { clock, kv } = storeWithClock({ start: 1_000_000 });
  const config = {
    login: { captchaAlways: false, captchaAfterFailures: 3, lockAfterFailures: 10, lockSeconds: LOCK_SECONDS, maxFailuresPerHour: 100, perIpPerMinute: 1000, ...login },
  } as AppConfig;
  const throttle = new LoginThrottle(kv, config);
  return { clock, kv, throttle };
}

/** What a refused begin answers: the error code and Retry-After, or 'open' when it was not refused. */
async function refusal(attempt: Promise<PasswordAttempt>) {
  try {
    await attempt;
    return 'open';
  } catch (error) {
    if (!(error instanceof AppException)) throw error;
    return { code: error.entry.code, retryAfterSeconds: error.extra.retryAfterSeconds };
  }
}

const alice = classifyIdentifier('alice_01');
const aliceEmail = classifyIdentifier('alice@example.com');
/** Her username's key (its confusable skeleton), as the users table holds it. */
const aliceKey = alice.kind === 'username' ? alice.key : '';
const userId = 'user-1';
const ip = '203.0.113.7';

/** n wrong passwords in a row; answers what each failed() said. */
async function fail(throttle: LoginThrottle, n: number, who = alice, account: string | null = userId, captcha = true) {
  const locked: boolean[] = [];
  for (let i = 0; i < n; i++) locked.push(await (await throttle.beginSignIn(who, account, ip, captcha)).failed());
  return locked;
}

describe('LoginThrottle: sign-in', () => {
  it('allows LOGIN_CAPTCHA_AFTER attempts without a captcha, then answers CAPTCHA_REQUIRED; with one, it asks for it from then on', async () => {
    const { throttle } = setup();
    const first = await throttle.beginSignIn(alice, userId, ip, false);
    expect(first.captchaRequired).toBe(false);
    expect(first.accountOpen).toBe(true);
    await first.failed();
    await fail(throttle, 2, alice, userId, false);
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, false))).toEqual({ code: 'CAPTCHA_REQUIRED', retryAfterSeconds: undefined });
    const withCaptcha = await throttle.beginSignIn(alice, userId, ip, true);
    expect(withCaptcha.captchaRequired).toBe(true);
  });

  it('does not ask for the captcha at exactly LOGIN_CAPTCHA_AFTER attempts, only past them', async () => {
    const { throttle } = setup();
    await fail(throttle, 2);
    const third = await throttle.beginSignIn(alice, userId, ip, true);
    expect(third.captchaRequired).toBe(false);
    await third.failed();
    expect((await throttle.beginSignIn(alice, userId, ip, true)).captchaRequired).toBe(true);
  });

  it('LOGIN_CAPTCHA_ALWAYS asks for the captcha from the first attempt and never answers CAPTCHA_REQUIRED before the lock', async () => {
    const { throttle } = setup({ captchaAlways: true });
    for (let i = 0; i < 9; i++) {
      const attempt = await throttle.beginSignIn(alice, userId, ip, false);
      expect(attempt.captchaRequired).toBe(true);
      await attempt.failed();
    }
    expect(await (await throttle.beginSignIn(alice, userId, ip, false)).failed()).toBe(true);
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, false))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: LOCK_SECONDS });
  });

  it('locks the identifier on the LOGIN_LOCK_AFTER-th failure for LOGIN_LOCK_SECONDS (429 with Retry-After), with or without a captcha', async () => {
    const { throttle, clock } = setup();
    expect(await fail(throttle, 10)).toEqual([false, false, false, false, false, false, false, false, false, true]);
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, true))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: LOCK_SECONDS });
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, false))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: LOCK_SECONDS });
    clock.advance(LOCK_SECONDS * 1000 - 1000);
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, true))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 1 });
    clock.advance(1000);
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, true))).toBe('open');
  });

  it('Retry-After is never under one second', async () => {
    const { throttle, clock } = setup();
    await fail(throttle, 10);
    clock.advance(LOCK_SECONDS * 1000 - 300);
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, true))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 1 });
  });

  it('after a lock expires the captcha stays required for the hour, and LOGIN_LOCK_AFTER more failures lock again', async () => {
    const { throttle, clock } = setup();
    await fail(throttle, 10, alice, null);
    clock.advance(LOCK_SECONDS * 1000);
    const after = await throttle.beginSignIn(alice, null, ip, true);
    expect(after.captchaRequired).toBe(true);
    await after.failed();
    expect(await fail(throttle, 9, alice, null)).toEqual([false, false, false, false, false, false, false, false, true]);
    expect(await refusal(throttle.beginSignIn(alice, null, ip, true))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: LOCK_SECONDS });
  });

  it('the captcha requirement a lock left ends an hour after the lock', async () => {
    const { throttle, clock } = setup();
    await fail(throttle, 10, alice, null);
    clock.advance(HOUR - 1);
    const before = await throttle.beginSignIn(alice, null, ip, false);
    expect(before.captchaRequired).toBe(true);
    await before.abandon();
    clock.advance(1);
    const attempt = await throttle.beginSignIn(alice, null, ip, false);
    expect(attempt.captchaRequired).toBe(false);
  });

  it('a streak of failures is forgotten an hour after it began', async () => {
    const { throttle, clock } = setup();
    await fail(throttle, 3, alice, userId, false);
    clock.advance(HOUR - 1);
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, false))).toEqual({ code: 'CAPTCHA_REQUIRED', retryAfterSeconds: undefined });
    clock.advance(1);
    expect((await throttle.beginSignIn(alice, userId, ip, false)).captchaRequired).toBe(false);
  });

  it('answers 429, not CAPTCHA_REQUIRED, when the lock comes before the captcha threshold', async () => {
    const { throttle } = setup({ captchaAfterFailures: 3, lockAfterFailures: 2 });
    expect(await fail(throttle, 2, alice, null, false)).toEqual([false, true]);
    expect(await refusal(throttle.beginSignIn(alice, null, ip, false))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: LOCK_SECONDS });
  });

  it('an abandoned attempt (refused before the compare) gives its slot back', async () => {
    const { throttle } = setup();
    await fail(throttle, 2, alice, userId, false);
    for (let i = 0; i < 5; i++) await (await throttle.beginSignIn(alice, userId, ip, false)).abandon();
    await (await throttle.beginSignIn(alice, userId, ip, false)).failed();
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, false))).toMatchObject({ code: 'CAPTCHA_REQUIRED' });
  });

  it("a success ends the identifier's streak, its captcha requirement and the account's streak", async () => {
    const { throttle, clock } = setup();
    const phone = classifyIdentifier('+8613800138000');
    await fail(throttle, 5, aliceEmail);
    await fail(throttle, 10);
    clock.advance(LOCK_SECONDS * 1000);
    // alice: lock over, captcha still required; the account's streak (15 failures) locked too, and that lock is over
    const right = await throttle.beginSignIn(alice, userId, ip, true);
    expect(right.captchaRequired).toBe(true);
    await right.succeeded();
    const next = await throttle.beginSignIn(alice, userId, ip, false);
    expect(next.captchaRequired).toBe(false);
    expect(next.accountOpen).toBe(true);
    await next.abandon();
    // the account's streak starts again from zero: its 10th failure from now, not its 1st, locks it
    expect(await fail(throttle, 9, phone)).toEqual([false, false, false, false, false, false, false, false, false]);
    expect(await fail(throttle, 1, aliceEmail)).toEqual([true]);
  });

  it('a success gives the hourly cap its slot back: only failures count towards it', async () => {
    const { throttle } = setup({ maxFailuresPerHour: 3, lockAfterFailures: 50, captchaAfterFailures: 50 });
    await fail(throttle, 2);
    for (let i = 0; i < 5; i++) await (await throttle.beginSignIn(alice, userId, ip, true)).succeeded();
    const third = await throttle.beginSignIn(alice, userId, ip, true);
    expect(third.accountOpen).toBe(true);
    expect(await third.failed()).toBe(true);
  });

  it("a success leaves other identifiers' streaks alone", async () => {
    const { throttle } = setup();
    await fail(throttle, 3, aliceEmail, userId, false);
    await (await throttle.beginSignIn(alice, userId, ip, false)).succeeded();
    expect(await refusal(throttle.beginSignIn(aliceEmail, userId, ip, false))).toMatchObject({ code: 'CAPTCHA_REQUIRED' });
  });

  it("the account's own streak locks over all its identifiers: the password is then not compared, and the answer is a wrong password's", async () => {
    const { throttle, clock } = setup();
    expect(await fail(throttle, 5, alice)).toEqual([false, false, false, false, false]);
    expect(await fail(throttle, 5, aliceEmail)).toEqual([false, false, false, false, true]);
    const closed = await throttle.beginSignIn(alice, userId, ip, true);
    expect(closed.accountOpen).toBe(false);
    expect(await closed.failed()).toBe(false); // the identifier's 6th failure locks nothing
    clock.advance(LOCK_SECONDS * 1000 - 1);
    expect((await throttle.beginSignIn(aliceEmail, userId, ip, true)).accountOpen).toBe(false);
    clock.advance(1);
    expect((await throttle.beginSignIn(aliceEmail, userId, ip, true)).accountOpen).toBe(true);
  });

  it("the account's streak runs for the hour from its first failure, however its failures are spread over it", async () => {
    const { throttle, clock } = setup();
    expect(await fail(throttle, 5, alice)).toEqual([false, false, false, false, false]);
    clock.advance(LOCK_SECONDS * 1000 + 1);
    expect(await fail(throttle, 4, aliceEmail)).toEqual([false, false, false, false]);
    clock.advance(LOCK_SECONDS * 1000 + 1);
    expect(await fail(throttle, 1, aliceEmail)).toEqual([true]);
  });

  it("the current-password checks' streak runs for the hour from its first failure too", async () => {
    const { throttle, clock } = setup();
    const failures = async (n: number) => {
      const locked: boolean[] = [];
      for (let i = 0; i < n; i++) locked.push(await (await throttle.beginCurrentPassword(userId)).failed());
      return locked;
    };
    expect(await failures(5)).toEqual([false, false, false, false, false]);
    clock.advance(LOCK_SECONDS * 1000 + 1);
    expect(await failures(5)).toEqual([false, false, false, false, true]);
  });

  it('the hourly cap closes the account once LOGIN_MAX_FAILURES_PER_HOUR failures are counted, until the hour ends', async () => {
    const { throttle, clock } = setup({ maxFailuresPerHour: 4 });
    expect(await fail(throttle, 4, alice)).toEqual([false, false, false, true]);
    const closed = await throttle.beginSignIn(aliceEmail, userId, ip, true);
    expect(closed.accountOpen).toBe(false);
    await closed.abandon();
    clock.advance(HOUR);
    expect((await throttle.beginSignIn(aliceEmail, userId, ip, true)).accountOpen).toBe(true);
  });

  it('unknown identifiers have no account bound: they lock on their own streak only', async () => {
    const { throttle } = setup();
    const attempt = await throttle.beginSignIn(alice, null, ip, true);
    expect(attempt.accountOpen).toBe(true);
    expect(await attempt.failed()).toBe(false);
    expect(await fail(throttle, 9, alice, null)).toEqual([false, false, false, false, false, false, false, false, true]);
  });

  it('counts an identifier by its normalised form: case, width and phone spellings share one streak', async () => {
    const { throttle } = setup();
    await (await throttle.beginSignIn(classifyIdentifier('Alice_01'), null, ip, false)).failed();
    await (await throttle.beginSignIn(classifyIdentifier('ＡＬＩＣＥ_01'), null, ip, false)).failed();
    await (await throttle.beginSignIn(classifyIdentifier('alice_01'), null, ip, false)).failed();
    expect(await refusal(throttle.beginSignIn(alice, null, ip, false))).toMatchObject({ code: 'CAPTCHA_REQUIRED' });
    await fail(throttle, 3, classifyIdentifier('138 0013 8000'), null, false);
    expect(await refusal(throttle.beginSignIn(classifyIdentifier('+8613800138000'), null, ip, false))).toMatchObject({ code: 'CAPTCHA_REQUIRED' });
    expect(await refusal(throttle.beginSignIn(classifyIdentifier('bob@example.com'), null, ip, false))).toBe('open');
  });

  it('refuses a client IP over LOGIN_PER_IP_PER_MINUTE with 429 for the rest of its minute, and its refused attempts take no slot', async () => {
    const { throttle, clock } = setup({ perIpPerMinute: 2 });
    await (await throttle.beginSignIn(alice, userId, ip, false)).failed();
    await (await throttle.beginSignIn(alice, userId, ip, false)).failed();
    clock.advance(20_000);
    for (let i = 0; i < 3; i++) expect(await refusal(throttle.beginSignIn(alice, userId, ip, false))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 40 });
    // another address: alice still has her third attempt, and the account its slots
    const third = await throttle.beginSignIn(alice, userId, '198.51.100.1', false);
    expect(third.accountOpen).toBe(true);
    await third.failed();
    expect(await refusal(throttle.beginSignIn(alice, userId, '198.51.100.1', false))).toMatchObject({ code: 'CAPTCHA_REQUIRED' });
    clock.advance(40_000);
    expect(await refusal(throttle.beginSignIn(bobOf(), null, ip, false))).toBe('open');
  });

  it('an IP over its rate answers 429 with its own Retry-After even when the identifier is locked too', async () => {
    const { throttle, clock } = setup({ perIpPerMinute: 10 });
    await fail(throttle, 10);
    clock.advance(30_000);
    expect(await refusal(throttle.beginSignIn(alice, userId, ip, true))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 30 });
  });

  it('keeps its counters under stable keys: instances of two releases share them during a rolling upgrade', async () => {
    const { throttle, kv } = setup();
    await fail(throttle, 10, alice);
    await fail(throttle, 1, classifyIdentifier('+8613800138000'), null);
    expect(await kv.get(`login-streak:username:${aliceKey}`)).toBe('10');
    expect(await kv.get(`login-captcha:username:${aliceKey}`)).toBe('1');
    expect(await kv.get('login-account:user-1')).toBe('10');
    expect(await kv.get('login-hourly:user-1')).toBe('10');
    expect(await kv.get('login-streak:phone:+8613800138000')).toBe('1');
    expect(await kv.get(`login-ip:${ip}`)).toBe('11');
    expect(await kv.ttl(`login-streak:username:${aliceKey}`)).toBe(LOCK_SECONDS * 1000);
    expect(await kv.ttl(`login-captcha:username:${aliceKey}`)).toBe(HOUR);
    expect(await kv.ttl('login-hourly:user-1')).toBe(HOUR);
    expect(await kv.ttl(`login-ip:${ip}`)).toBe(60_000);
  });
});

function bobOf() {
  return classifyIdentifier('bob_the_builder');
}

describe('LoginThrottle: current password', () => {
  it("counts towards the account's streak and locks it on the LOGIN_LOCK_AFTER-th failure, then answers 429 until the lock ends", async () => {
    const { throttle, clock } = setup();
    const locked: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const attempt = await throttle.beginCurrentPassword(userId);
      expect(attempt).toMatchObject({ captchaRequired: false, accountOpen: true });
      locked.push(await attempt.failed());
    }
    expect(locked).toEqual([false, false, false, false, false, false, false, false, false, true]);
    expect(await refusal(throttle.beginCurrentPassword(userId))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: LOCK_SECONDS });
    // the same account bound closes sign-in
    expect((await throttle.beginSignIn(alice, userId, ip, true)).accountOpen).toBe(false);
    clock.advance(LOCK_SECONDS * 1000);
    expect(await refusal(throttle.beginCurrentPassword(userId))).toBe('open');
  });

  it('an abandoned check gives its slots back; a right password ends the streak and returns the hourly slot', async () => {
    const { throttle } = setup({ maxFailuresPerHour: 3 });
    for (let i = 0; i < 5; i++) await (await throttle.beginCurrentPassword(userId)).abandon();
    await (await throttle.beginCurrentPassword(userId)).failed();
    await (await throttle.beginCurrentPassword(userId)).failed();
    await (await throttle.beginCurrentPassword(userId)).succeeded();
    expect(await (await throttle.beginCurrentPassword(userId)).failed()).toBe(true);
    expect(await refusal(throttle.beginCurrentPassword(userId))).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 3600 });
  });

  it("a right password resets the account's streak", async () => {
    const { throttle } = setup();
    for (let i = 0; i < 9; i++) await (await throttle.beginCurrentPassword(userId)).failed();
    await (await throttle.beginCurrentPassword(userId)).succeeded();
    for (let i = 0; i < 9; i++) expect(await (await throttle.beginCurrentPassword(userId)).failed()).toBe(false);
  });

  it('when the hourly cap refuses, the streak slot it took is given back', async () => {
    const { throttle, kv } = setup({ maxFailuresPerHour: 2 });
    await (await throttle.beginCurrentPassword(userId)).failed();
    await (await throttle.beginCurrentPassword(userId)).failed();
    expect(await refusal(throttle.beginCurrentPassword(userId))).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(await kv.get('login-account:user-1')).toBe('2');
  });
});

describe('LoginThrottle: after a password reset', () => {
  it("clears the account's bound and every lock and captcha requirement of its own identifiers", async () => {
    const { throttle } = setup();
    const phone = classifyIdentifier('+8613800138000');
    await fail(throttle, 10, alice, null);
    await fail(throttle, 10, aliceEmail, null);
    await fail(throttle, 10, phone, null);
    await fail(throttle, 3, bobOf(), null, false);
    for (let i = 0; i < 10; i++) await (await throttle.beginCurrentPassword(userId)).failed();
    await throttle.clearAccount({ id: userId, usernameKey: aliceKey, emailKey: 'alice@example.com', phone: '+8613800138000' });
    for (const who of [alice, aliceEmail, phone]) {
      const attempt = await throttle.beginSignIn(who, userId, ip, false);
      expect(attempt).toMatchObject({ captchaRequired: false, accountOpen: true });
      await attempt.abandon();
    }
    expect(await refusal(throttle.beginCurrentPassword(userId))).toBe('open');
    // another account's identifier is not touched
    expect(await refusal(throttle.beginSignIn(bobOf(), null, ip, false))).toMatchObject({ code: 'CAPTCHA_REQUIRED' });
  });

  it('clears an account without an email or a phone', async () => {
    const { throttle } = setup();
    await fail(throttle, 10, alice, null);
    await throttle.clearAccount({ id: userId, usernameKey: aliceKey, emailKey: null, phone: null });
    expect((await throttle.beginSignIn(alice, userId, ip, false)).captchaRequired).toBe(false);
  });
});
