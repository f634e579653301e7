import type { TestApp } from '../helpers/test-app';
import { adminUpdate, SignedInAdmin } from './admin';
import { lastCode, requestEmailCode, requestSmsCode, uniquePhone } from './codes';
import { idCardNumber } from './id-cards';
import { DEFAULT_PASSWORD, signUpBody, solvedCaptcha, verifyEmail } from './users';

/** User-supplied text that must come back from the audit trail exactly as sent, never interpreted. */
export const JOURNEY_USER_AGENT = 'AuditAgent/1.0 "quoted" <b>';
const NEW_PASSWORD = 'copper lantern 58';
const RESET_PASSWORD = 'harbour willow 93';
const WRONG_PASSWORD = 'wrong horse 123';

/** Settings the journey relies on: failures never ask for a captcha, so ten of them lock the account. */
export const JOURNEY_ENV = { LOGIN_CAPTCHA_AFTER: '100' };

export interface AccountJourney {
  userId: string;
  /** Every password, token, key, code, captcha id and ID datum the journey used. */
  secrets: string[];
  startedAt: number;
}

/**
 * One account's whole life, each step something the audit trail must show: sign-up, a failed and
 * four successful sign-ins, a refresh and its re-use, an API key, a failed and a real password
 * change, an access denial, email and phone changes, a real-name submission and read, a sign-out,
 * role and status changes by an admin, a password reset, a lockout, a failed and a real deletion,
 * and a failed sign-in naming nobody.
 */
export async function runAccountJourney(t: TestApp, admin: SignedInAdmin): Promise<AccountJourney> {
  const startedAt = Date.now();
  const ua = { 'User-Agent': JOURNEY_USER_AGENT };
  const post = (path: string) => t.http.post(`/api/v1${path}`).set(ua);
  const login = (identifier: string, password: string) => post('/auth/login').send({ identifier, password });
  const bearer = (pair: { accessToken: string }) => ({ Authorization: `Bearer ${pair.accessToken}`, ...ua });

  const body = { ...signUpBody(), ...(await solvedCaptcha(t)) };
  const userId: string = (await post('/users').send(body).expect(201)).body.data.id;
  await login(body.username, WRONG_PASSWORD).expect(401);
  const first = (await login(body.username, DEFAULT_PASSWORD).expect(200)).body.data;
  const rotated = (await post('/auth/refresh').send({ refreshToken: first.refreshToken }).expect(200)).body.data;
  await post('/auth/refresh').send({ refreshToken: first.refreshToken }).expect(401); // reuse
  const second = (await login(body.username, DEFAULT_PASSWORD).expect(200)).body.data;
  const auth = bearer(second);
  await verifyEmail(t, auth, body.email);
  const apiKey = (await t.http.post('/api/v1/users/me/api-key').set(auth).expect(201)).body.data.apiKey;
  await t.http.put('/api/v1/users/me/password').set(auth).send({ oldPassword: WRONG_PASSWORD, newPassword: NEW_PASSWORD }).expect(400);
  await t.http.put('/api/v1/users/me/password').set(auth).send({ oldPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD }).expect(200);
  await t.http.get('/api/v1/admin/users').set(auth).expect(403);

  const email = `moved.${body.username}@example.com`;
  await requestEmailCode(t, email, 'change_email', ua);
  const emailCode = lastCode(t, email, 'change_email')!;
  await t.http.put('/api/v1/users/me/email').set(auth).send({ email, code: emailCode }).expect(200);
  const phone = uniquePhone();
  await requestSmsCode(t, phone, 'change_phone', ua);
  const phoneCode = lastCode(t, phone, 'change_phone')!;
  await t.http.put('/api/v1/users/me/phone').set(auth).send({ phone, code: phoneCode }).expect(200);
  const idNumber = idCardNumber();
  await t.http.post('/api/v1/users/me/real-name').set(auth).send({ realName: '赵六', idCardNumber: idNumber }).expect(201);
  await t.http.get('/api/v1/users/me/real-name').set(auth).expect(200);

  const third = (await login(body.username, NEW_PASSWORD).expect(200)).body.data;
  await t.http.delete('/api/v1/auth/session').set(bearer(third)).expect(200);
  await adminUpdate(t, admin.auth, userId, { role: 'vip_user' }).expect(200);
  await adminUpdate(t, admin.auth, userId, { status: 'disabled' }).expect(200);
  await adminUpdate(t, admin.auth, userId, { status: 'active' }).expect(200);

  for (let i = 0; i < 10; i++) await login(body.username, WRONG_PASSWORD).expect(401);
  await login(body.username, NEW_PASSWORD).expect(429);

  // A locked account can still reset its password, which lifts the lock.
  await requestEmailCode(t, email, 'reset_password', ua);
  const resetCode = lastCode(t, email, 'reset_password')!;
  await post('/auth/password-reset').send({ channel: 'email', email, code: resetCode, newPassword: RESET_PASSWORD }).expect(200);
  const fourth = (await login(body.username, RESET_PASSWORD).expect(200)).body.data;

  await t.http.delete('/api/v1/users/me').set(bearer(fourth)).send({ password: WRONG_PASSWORD }).expect(400);
  await t.http.delete('/api/v1/users/me').set(bearer(fourth)).send({ password: RESET_PASSWORD }).expect(200);
  await login('nobody_by_this_name', WRONG_PASSWORD).expect(401);

  const secrets = [DEFAULT_PASSWORD, NEW_PASSWORD, RESET_PASSWORD, WRONG_PASSWORD, apiKey, body.captchaId, emailCode, phoneCode, resetCode, idNumber, '赵六'];
  for (const pair of [first, rotated, second, third, fourth]) secrets.push(pair.accessToken, pair.refreshToken);
  return { userId, secrets, startedAt };
}
