import { sameSessionToken } from '../helpers/jwt-forge';
import type { TestApp } from '../helpers/test-app';
import { DEFAULT_PASSWORD } from './users';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  user: { id: string; username: string; role: string };
}

export const bearer = (pair: { accessToken: string }) => ({ Authorization: `Bearer ${pair.accessToken}` });

/** Signs in from a given user agent, so that sessions can be told apart in listings. */
export async function signInFrom(t: TestApp, identifier: string, userAgent: string, password = DEFAULT_PASSWORD): Promise<TokenPair> {
  const response = await t.http.post('/api/v1/auth/login').set('User-Agent', userAgent).send({ identifier, password }).expect(200);
  return response.body.data as TokenPair;
}

/** POST /auth/refresh, answering the raw response (the caller decides what status to expect). */
export function refresh(t: TestApp, refreshToken: string) {
  return t.http.post('/api/v1/auth/refresh').send({ refreshToken });
}

/** The status GET /users/me answers with this access token: 200 while it works, 401 once revoked. */
export async function meStatus(t: TestApp, pair: { accessToken: string }): Promise<number> {
  return (await t.http.get('/api/v1/users/me').set(bearer(pair))).status;
}

/**
 * What a session's credentials answer now: its access token, another token minted for the same
 * session id, and its refresh token (200s while it lives, 401s once it is revoked).
 */
export async function sessionAnswers(t: TestApp, pair: { accessToken: string; refreshToken: string }, options = { refresh: true }) {
  return {
    access: await meStatus(t, pair),
    sameSession: await meStatus(t, { accessToken: sameSessionToken(pair.accessToken, t.dataDir) }),
    // A refresh spends the token, so a second look at the same pair leaves it out.
    refresh: options.refresh ? (await refresh(t, pair.refreshToken)).status : null,
  };
}

export const LIVE = { access: 200, sameSession: 200, refresh: 200 };
export const REVOKED = { access: 401, sameSession: 401, refresh: 401 };
