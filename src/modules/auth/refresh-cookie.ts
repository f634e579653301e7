import fastifyCookie from '@fastify/cookie';
import { Inject, Injectable } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from '@/common/errors';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AuthErrors } from './auth.errors';

/**
 * REFRESH_TOKEN_COOKIE (contract §10): the refresh token travels in an HttpOnly cookie that page
 * scripts cannot read, and the JSON leaves it out. `__Host-` would need `Path=/`; the cookie is
 * bound to the auth routes instead, so it carries `__Secure-`, which browsers only accept with
 * `Secure` from a secure origin (https, or http://localhost) and which no plain-http page can overwrite.
 */
export const REFRESH_COOKIE_NAME = '__Secure-uc_refresh';
/** The auth routes under the global prefix (app.setup.ts API_PREFIX): the only requests that carry the cookie. */
export const REFRESH_COOKIE_PATH = '/api/v1/auth';

/** TokensService.pair stamps each pair it mints with its refresh token's remaining life in seconds (the cookie's Max-Age). */
export const REFRESH_MAX_AGE = Symbol('refreshMaxAge');

interface TokenPairAnswer {
  mfaRequired: false;
  accessToken: string;
  refreshToken: string;
  [REFRESH_MAX_AGE]?: number;
}

/** A token pair by its shape, so a pair that was copied or spread on its way out is still caught. */
function isTokenPair(payload: unknown): payload is TokenPairAnswer {
  const answer = payload as Partial<TokenPairAnswer> | null;
  return typeof answer === 'object' && answer !== null && answer.mfaRequired === false && typeof answer.accessToken === 'string' && typeof answer.refreshToken === 'string';
}

function cookieOptions(maxAgeSeconds: number) {
  return { httpOnly: true, secure: true, sameSite: 'strict' as const, path: REFRESH_COOKIE_PATH, maxAge: maxAgeSeconds };
}

export function setRefreshCookie(reply: FastifyReply, refreshToken: string, maxAgeSeconds: number): void {
  void reply.setCookie(REFRESH_COOKIE_NAME, refreshToken, cookieOptions(Math.max(0, Math.floor(maxAgeSeconds))));
}

/** Max-Age=0 with the same attributes: the browser drops the cookie. */
export function clearRefreshCookie(reply: FastifyReply): void {
  void reply.setCookie(REFRESH_COOKIE_NAME, '', cookieOptions(0));
}

/**
 * The one place where a token pair becomes the HTTP answer in cookie mode: every route that
 * answers a pair (password, SMS, MFA verify, step-up, federation exchange, passkeys, refresh)
 * gets the cookie set and the refresh token taken out of the JSON here, in Fastify's
 * serialization hook, before the success envelope wraps it (registered before it). Off: nothing
 * is registered, and answers are exactly as they were.
 */
export async function registerRefreshCookie(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  if (!config.sessions.refreshTokenCookie) return;
  // Parsing only: the value is a random token checked against its stored hash, so it is not signed.
  await app.register(fastifyCookie as unknown as Parameters<NestFastifyApplication['register']>[0]);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('preSerialization', (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
    if (reply.statusCode >= 400 || !isTokenPair(payload)) return done(null, payload);
    const { refreshToken, [REFRESH_MAX_AGE]: maxAge, ...answer } = payload;
    setRefreshCookie(reply, refreshToken, maxAge ?? config.tokens.refreshTtlSeconds);
    done(null, answer);
  });
}

/** Reads the refresh cookie on the routes that spend it (POST /auth/refresh, DELETE /auth/session). */
@Injectable()
export class RefreshCookie {
  private readonly origins: Set<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.origins = new Set(config.http.corsOrigins);
  }

  get enabled(): boolean {
    return this.config.sessions.refreshTokenCookie;
  }

  /**
   * The refresh token the request's cookie carries, or undefined (no cookie, or cookie mode off).
   * A request that carries it must come from an allowed Origin and send X-Requested-With:
   * XMLHttpRequest (a header no form or plain link can add, and that cross-origin scripts can only
   * send after a CORS preflight the allowed origins alone pass); else 403, and the cookie is left alone.
   */
  take(request: FastifyRequest): string | undefined {
    if (!this.enabled) return undefined;
    const token = (request as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies?.[REFRESH_COOKIE_NAME];
    if (token === undefined) return undefined;
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !this.origins.has(origin)) throw new AppException(AuthErrors.COOKIE_ORIGIN_NOT_ALLOWED);
    const requestedWith = request.headers['x-requested-with'];
    if (typeof requestedWith !== 'string' || requestedWith.toLowerCase() !== 'xmlhttprequest') throw new AppException(AuthErrors.COOKIE_REQUESTED_WITH_REQUIRED);
    return token;
  }

  clear(reply: FastifyReply): void {
    if (this.enabled) clearRefreshCookie(reply);
  }
}
