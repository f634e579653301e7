import { randomBytes, randomUUID } from 'node:crypto';
import type { TestApp } from '../helpers/test-app';
import { TEST_CAPTCHA } from '../helpers/test-app';

let counter = 0;

/** A username nobody else in the run has. */
export function uniqueUsername(prefix = 'user'): string {
  counter += 1;
  return `${prefix}_${counter}_${randomBytes(3).toString('hex')}`;
}

export const DEFAULT_PASSWORD = 'violet sunrise 42';

/** Fetches a captcha so that its (fixed) answer is pending, and returns the pair to send. */
export async function solvedCaptcha(t: TestApp): Promise<{ captchaId: string; captchaText: string }> {
  const captchaId = randomUUID();
  await t.http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
  return { captchaId, captchaText: TEST_CAPTCHA };
}

export interface SignUpInput {
  username?: string;
  email?: string;
  password?: string;
  [field: string]: unknown;
}

export function signUpBody(input: SignUpInput = {}) {
  const username = input.username ?? uniqueUsername();
  return { ...input, username, email: input.email ?? `${username.toLowerCase()}@example.com`, password: input.password ?? DEFAULT_PASSWORD };
}

/** Signs a new user up through the API; returns what was sent and the user the API answered. */
export async function signUp(t: TestApp, input: SignUpInput = {}) {
  const body = { ...signUpBody(input), ...(await solvedCaptcha(t)) };
  const response = await t.http.post('/api/v1/users').send(body).expect(201);
  return { ...body, user: response.body.data as { id: string; username: string; role: string } };
}

export async function signIn(t: TestApp, identifier: string, password = DEFAULT_PASSWORD) {
  const response = await t.http.post('/api/v1/auth/login').send({ identifier, password }).expect(200);
  return response.body.data as { accessToken: string; refreshToken: string; user: { id: string } };
}

/**
 * Proves the account's email through the API (POST /users/me/email/verification-code, then
 * /verification), as its owner would before adding a phone or an API key.
 */
export async function verifyEmail(t: TestApp, auth: Record<string, string>, email: string): Promise<void> {
  const { lastCode, requestEmailVerificationCode } = await import('./codes');
  const sent = await requestEmailVerificationCode(t, auth, email);
  if (sent.status !== 202) throw new Error(`verification code request answered ${sent.status}: ${sent.text}`);
  await t.http.post('/api/v1/users/me/email/verification').set(auth).send({ code: lastCode(t, email.toLowerCase(), 'verify_email') }).expect(200);
}

/** A signed-up and signed-in user with its tokens; its email is verified unless `verified: false`. */
export async function signedInUser(t: TestApp, input: SignUpInput = {}, options: { verified?: boolean } = {}) {
  const account = await signUp(t, input);
  const tokens = await signIn(t, account.username, account.password);
  const auth = { Authorization: `Bearer ${tokens.accessToken}` };
  if (options.verified !== false) await verifyEmail(t, auth, account.email);
  return { ...account, ...tokens, auth };
}
