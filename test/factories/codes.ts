import { OutboxEntry, readOutboxFile } from '../helpers/outbox-file';
import type { TestApp } from '../helpers/test-app';
import { signIn, signUp, solvedCaptcha, verifyEmail } from './users';

export type { OutboxEntry };

/** Every message the log transport wrote, oldest first. */
export function outbox(t: TestApp): OutboxEntry[] {
  return readOutboxFile(t.outbox);
}

/** The newest code sent to `to` for `purpose`, or undefined when none was delivered. */
export function lastCode(t: TestApp, to: string, purpose: string): string | undefined {
  return outbox(t).filter((entry) => entry.to === to && entry.purpose === purpose).pop()?.code ?? undefined;
}

let phoneCounter = 0;

/** A mainland mobile number nobody else in this run uses. */
export function uniquePhone(): string {
  phoneCounter += 1;
  return `+86138${String(process.pid % 1000).padStart(3, '0')}${String(phoneCounter).padStart(5, '0')}`;
}

/**
 * Code requests are answered before delivery (so timing reveals nothing): wait until the message for
 * `to` is in the outbox — other requests' messages may land first when tests run in parallel — or,
 * when nothing at all is being delivered (a withheld code), a short while.
 */
export async function settledOutbox<T>(t: TestApp, send: () => Promise<T>, to?: string): Promise<T> {
  const before = outbox(t).length;
  const response = await send();
  const arrived = () => {
    const entries = outbox(t);
    return to ? entries.slice(before).some((entry) => entry.to === to) : entries.length > before;
  };
  for (let waited = 0; waited < 5000 && !arrived(); waited += 10) {
    if (waited >= 200 && outbox(t).length === before) break; // nothing is on its way
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return response;
}

export async function requestSmsCode(t: TestApp, phone: string, purpose: string, headers: Record<string, string> = {}) {
  const captcha = await solvedCaptcha(t);
  return settledOutbox(t, async () => t.http.post('/api/v1/verification/sms-codes').set(headers).send({ phone, purpose, ...captcha }), phone);
}

export async function requestEmailCode(t: TestApp, email: string, purpose: string, headers: Record<string, string> = {}) {
  const captcha = await solvedCaptcha(t);
  return settledOutbox(t, async () => t.http.post('/api/v1/verification/email-codes').set(headers).send({ email, purpose, ...captcha }), email.trim().toLowerCase());
}

/**
 * How many codes of this channel and purpose ended with `outcome`, per /metrics, once that count
 * reaches `atLeast` (or after a few seconds): code requests are answered before delivery, so a
 * delivery's outcome is only known afterwards.
 */
export async function codeOutcomes(t: TestApp, channel: 'sms' | 'email', purpose: string, outcome: 'sent' | 'failed' | 'withheld', atLeast = 1): Promise<number> {
  const pattern = new RegExp(`user_centre_codes_sent_total\\{channel="${channel}",purpose="${purpose}",outcome="${outcome}"\\} (\\d+)`);
  let count = 0;
  for (let waited = 0; waited < 5000; waited += 25) {
    count = Number(pattern.exec((await t.http.get('/metrics')).text)?.[1] ?? 0);
    if (count >= atLeast) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return count;
}

/** A phone account created through the API (code requested and used); returns its phone and view. */
export async function phoneUser(t: TestApp, extra: { password?: string; displayName?: string } = {}) {
  const phone = uniquePhone();
  const sent = await requestSmsCode(t, phone, 'register');
  if (sent.status !== 202) throw new Error(`sms code request answered ${sent.status}: ${sent.text}`);
  const response = await t.http.post('/api/v1/users/phone').send({ phone, smsCode: lastCode(t, phone, 'register'), ...extra }).expect(201);
  return { phone, user: response.body.data as { id: string; username: string; phone: string } };
}

/** An email account that has added a phone too (by a change_phone code), so codes can be pending on both channels. */
export async function userWithEmailAndPhone(t: TestApp) {
  const account = await signUp(t);
  const { accessToken } = await signIn(t, account.username, account.password);
  await verifyEmail(t, { Authorization: `Bearer ${accessToken}` }, account.email);
  const phone = uniquePhone();
  await requestSmsCode(t, phone, 'change_phone');
  await t.http.put('/api/v1/users/me/phone').set('Authorization', `Bearer ${accessToken}`).send({ phone, code: lastCode(t, phone, 'change_phone') }).expect(200);
  return { ...account, phone };
}

/** POST /users/me/email/verification-code (answered before delivery): waits until the code is in the outbox. */
export function requestEmailVerificationCode(t: TestApp, auth: Record<string, string>, email?: string) {
  return settledOutbox(t, async () => t.http.post('/api/v1/users/me/email/verification-code').set(auth), email?.toLowerCase());
}
