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

/** A signed-up and signed-in user with its tokens. */
export async function signedInUser(t: TestApp, input: SignUpInput = {}) {
  const account = await signUp(t, input);
  const tokens = await signIn(t, account.username, account.password);
  return { ...account, ...tokens, auth: { Authorization: `Bearer ${tokens.accessToken}` } };
}
