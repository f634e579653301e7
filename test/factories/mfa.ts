import { totpCode } from '@/modules/mfa/totp';
import type { TestApp } from '../helpers/test-app';
import { bearer } from './sessions';
import { DEFAULT_PASSWORD, signedInUser, SignUpInput } from './users';

/** The code an authenticator app shows now (the app's clock), or `stepsFromNow` steps away. */
export function currentCode(t: TestApp, secret: string, stepsFromNow = 0): string {
  return totpCode(secret, t.clock.now() + stepsFromNow * 30_000);
}

/** Sets up TOTP for a signed-in caller through the API; returns the secret and the recovery codes. */
export async function enrolTotp(t: TestApp, pair: { accessToken: string }) {
  const started = await t.http.post('/api/v1/users/me/mfa/totp').set(bearer(pair)).expect(200);
  const secret = started.body.data.secret as string;
  const confirmed = await t.http.post('/api/v1/users/me/mfa/totp/confirm').set(bearer(pair)).send({ code: currentCode(t, secret) }).expect(200);
  // The confirmation used this step's code: later answers use the next step's, from just after it
  // starts, so a test's codes never straddle a step boundary.
  await t.passTime(30_000 - (t.clock.now() % 30_000) + 500);
  return { secret, recoveryCodes: confirmed.body.data.recoveryCodes as string[] };
}

/** A signed-up user with TOTP set up (signed in before enrolment). */
export async function mfaUser(t: TestApp, input: SignUpInput = {}) {
  const account = await signedInUser(t, input);
  const { secret, recoveryCodes } = await enrolTotp(t, account);
  return { ...account, secret, recoveryCodes };
}

/** POST /auth/login for an account with MFA: the challenge's mfaToken. */
export async function mfaToken(t: TestApp, identifier: string, password = DEFAULT_PASSWORD, extra: Record<string, string> = {}): Promise<string> {
  const response = await t.http.post('/api/v1/auth/login').send({ identifier, password, ...extra }).expect(200);
  if (response.body.data.mfaRequired !== true) throw new Error('expected an MFA challenge');
  return response.body.data.mfaToken as string;
}

export function verifyMfa(t: TestApp, token: string, method: string, code: string) {
  return t.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: token, method, code });
}

/** Whole seconds of the app's clock now, give or take the boundary a request may cross. */
export function nearNow(t: TestApp): number {
  return Math.floor(t.clock.now() / 1000);
}

/** The claims of an access token (no verification: the test only reads them). */
export function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}
