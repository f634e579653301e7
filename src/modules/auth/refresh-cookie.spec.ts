import fastifyCookie from '@fastify/cookie';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from '@/common/errors';
import type { AppConfig } from '@/config/app-config';
import { AuthErrors } from './auth.errors';
import { clearRefreshCookie, REFRESH_COOKIE_NAME, REFRESH_COOKIE_PATH, REFRESH_MAX_AGE, RefreshCookie, registerRefreshCookie, setRefreshCookie } from './refresh-cookie';

const config = (refreshTokenCookie: boolean) =>
  ({ sessions: { refreshTokenCookie }, tokens: { refreshTtlSeconds: 7200 }, http: { corsOrigins: ['https://app.example', 'http://localhost:5173'] } }) as unknown as AppConfig;
const reply = (statusCode = 200) => ({ statusCode, setCookie: jest.fn() });
const attributes = (maxAge: number) => ({ httpOnly: true, secure: true, sameSite: 'strict', path: '/api/v1/auth', maxAge });

/** Registers the hook on a stand-in for the Nest app and answers it (or undefined when none was added). */
async function hookOf(enabled: boolean) {
  const addHook = jest.fn();
  const app = { register: jest.fn(async () => undefined), getHttpAdapter: () => ({ getInstance: () => ({ addHook }) }) };
  await registerRefreshCookie(app as unknown as NestFastifyApplication, config(enabled));
  const hook = addHook.mock.calls[0]?.[1] as ((request: unknown, reply: unknown, payload: unknown, done: (error: null, payload: unknown) => void) => void) | undefined;
  return { app, addHook, hook };
}

/** Runs the preSerialization hook on one answer; answers what it passed on. */
function serialize(hook: NonNullable<Awaited<ReturnType<typeof hookOf>>['hook']>, payload: unknown, answer = reply()) {
  const done = jest.fn();
  hook({}, answer, payload, done);
  expect(done).toHaveBeenCalledTimes(1);
  expect(done.mock.calls[0][0]).toBeNull();
  return done.mock.calls[0][1] as unknown;
}

const pair = (extra: Record<string | symbol, unknown> = {}) => ({ mfaRequired: false, accessToken: 'access', refreshToken: 'rt_secret', expiresIn: 900, ...extra });

describe('refresh cookie (REFRESH_TOKEN_COOKIE)', () => {
  it('is named __Secure-uc_refresh and bound to the auth routes', () => {
    expect(REFRESH_COOKIE_NAME).toBe('__Secure-uc_refresh');
    expect(REFRESH_COOKIE_PATH).toBe('/api/v1/auth');
  });

  it('setRefreshCookie: HttpOnly, Secure, SameSite=Strict, the auth path, Max-Age in whole seconds and never negative', () => {
    for (const [maxAge, expected] of [[3600, 3600], [59.9, 59], [0, 0], [-5, 0]] as const) {
      const answer = reply();
      setRefreshCookie(answer as unknown as FastifyReply, 'rt_secret', maxAge);
      expect(answer.setCookie).toHaveBeenCalledWith('__Secure-uc_refresh', 'rt_secret', attributes(expected));
    }
  });

  it('clearRefreshCookie: an empty value with Max-Age=0 and the same attributes', () => {
    const answer = reply();
    clearRefreshCookie(answer as unknown as FastifyReply);
    expect(answer.setCookie).toHaveBeenCalledWith('__Secure-uc_refresh', '', attributes(0));
  });

  describe('registerRefreshCookie', () => {
    it('off: registers nothing', async () => {
      const { app, addHook } = await hookOf(false);
      expect(app.register).not.toHaveBeenCalled();
      expect(addHook).not.toHaveBeenCalled();
    });

    it('on: registers the cookie parser and one preSerialization hook', async () => {
      const { app, addHook } = await hookOf(true);
      expect(app.register).toHaveBeenCalledWith(fastifyCookie);
      expect(addHook).toHaveBeenCalledTimes(1);
      expect(addHook.mock.calls[0][0]).toBe('preSerialization');
    });

    it('takes the refresh token (and its stamped Max-Age) out of a pair and sets it as the cookie', async () => {
      const { hook } = await hookOf(true);
      const answer = reply(201);
      expect(serialize(hook!, pair({ [REFRESH_MAX_AGE]: 1234 }), answer)).toStrictEqual({ mfaRequired: false, accessToken: 'access', expiresIn: 900 });
      expect(answer.setCookie).toHaveBeenCalledWith('__Secure-uc_refresh', 'rt_secret', attributes(1234));
    });

    it('a pair without a stamped Max-Age gets REFRESH_TOKEN_TTL', async () => {
      const { hook } = await hookOf(true);
      const answer = reply(399);
      serialize(hook!, pair(), answer);
      expect(answer.setCookie).toHaveBeenCalledWith('__Secure-uc_refresh', 'rt_secret', attributes(7200));
    });

    it('passes everything else on untouched: error answers, MFA challenges, answers missing a token, and non-objects', async () => {
      const { hook } = await hookOf(true);
      const untouched: [unknown, number][] = [
        [pair(), 400],
        [pair(), 500],
        [{ mfaRequired: true, mfaToken: 'mfa_x', accessToken: 'a', refreshToken: 'r' }, 200],
        [{ accessToken: 'a', refreshToken: 'r' }, 200],
        [pair({ accessToken: undefined }), 200],
        [pair({ refreshToken: 7 }), 200],
        [null, 200],
        [undefined, 200],
        ['text', 200],
        [[pair()], 200],
      ];
      for (const [payload, status] of untouched) {
        const answer = reply(status);
        expect(serialize(hook!, payload, answer)).toBe(payload);
        expect(answer.setCookie).not.toHaveBeenCalled();
      }
    });
  });

  describe('RefreshCookie.take', () => {
    // cookies null: a request the cookie parser never saw (no cookies property at all).
    const request = (headers: Record<string, string | undefined>, cookies: Record<string, string> | null = { [REFRESH_COOKIE_NAME]: 'rt_secret' }) =>
      ({ headers, ...(cookies ? { cookies } : {}) }) as unknown as FastifyRequest;
    const allowed = { origin: 'https://app.example', 'x-requested-with': 'XMLHttpRequest' };
    const refusal = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(AppException);
        return (error as AppException).entry;
      }
      throw new Error('not refused');
    };

    it('answers the cookie of a request from an allowed origin that says X-Requested-With: XMLHttpRequest (any case)', () => {
      const cookie = new RefreshCookie(config(true));
      expect(cookie.enabled).toBe(true);
      expect(cookie.take(request(allowed))).toBe('rt_secret');
      expect(cookie.take(request({ origin: 'http://localhost:5173', 'x-requested-with': 'xmlhttprequest' }))).toBe('rt_secret');
    });

    it('answers undefined without the cookie, and with cookie mode off whatever the request carries', () => {
      expect(new RefreshCookie(config(true)).take(request(allowed, {}))).toBeUndefined();
      expect(new RefreshCookie(config(true)).take(request(allowed, null))).toBeUndefined();
      // A request without the cookie (a bearer-only client, a server) is never asked for Origin or X-Requested-With.
      expect(new RefreshCookie(config(true)).take(request({}, {}))).toBeUndefined();
      expect(new RefreshCookie(config(true)).take(request({ origin: 'https://evil.example' }, { other: 'x' }))).toBeUndefined();
      const off = new RefreshCookie(config(false));
      expect(off.enabled).toBe(false);
      expect(off.take(request({}))).toBeUndefined();
    });

    it('refuses a cookie from no origin or another one (403 COOKIE_ORIGIN_NOT_ALLOWED), before looking at X-Requested-With', () => {
      const cookie = new RefreshCookie(config(true));
      for (const origin of [undefined, 'https://evil.example', 'https://app.example.evil', 'null']) {
        expect(refusal(() => cookie.take(request({ ...allowed, origin })))).toBe(AuthErrors.COOKIE_ORIGIN_NOT_ALLOWED);
      }
      expect(refusal(() => cookie.take(request({ origin: 'https://evil.example' })))).toBe(AuthErrors.COOKIE_ORIGIN_NOT_ALLOWED);
    });

    it('refuses a cookie without X-Requested-With: XMLHttpRequest (403 COOKIE_REQUESTED_WITH_REQUIRED)', () => {
      const cookie = new RefreshCookie(config(true));
      for (const requestedWith of [undefined, '', 'fetch', 'XMLHttpRequest2']) {
        expect(refusal(() => cookie.take(request({ origin: allowed.origin, 'x-requested-with': requestedWith })))).toBe(AuthErrors.COOKIE_REQUESTED_WITH_REQUIRED);
      }
    });

    it('clear: clears the cookie in cookie mode only', () => {
      const answer = reply();
      new RefreshCookie(config(true)).clear(answer as unknown as FastifyReply);
      expect(answer.setCookie).toHaveBeenCalledWith('__Secure-uc_refresh', '', attributes(0));
      const untouched = reply();
      new RefreshCookie(config(false)).clear(untouched as unknown as FastifyReply);
      expect(untouched.setCookie).not.toHaveBeenCalled();
    });
  });
});
