import type { TestApp } from '../helpers/test-app';
import { SoftAuthenticator, SoftCredential } from '../helpers/soft-authenticator';
import { bearer } from './sessions';
import { DEFAULT_PASSWORD, signedInUser, SignUpInput } from './users';

/** The origin the tests' app accepts by default (WEBAUTHN_ORIGINS unset: http://localhost:PORT, PORT 3000). */
export const TEST_ORIGIN = 'http://localhost:3000';

/** Registers a passkey for a signed-in caller through the API (options, then the authenticator's answer). */
export async function registerPasskey(t: TestApp, pair: { accessToken: string }, authenticator = new SoftAuthenticator(TEST_ORIGIN), name?: string) {
  const options = (await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(pair)).expect(200)).body.data;
  const { json, credential } = authenticator.register(options);
  const added = await t.http.post('/api/v1/users/me/passkeys').set(bearer(pair)).send({ response: json, ...(name ? { name } : {}) });
  if (added.status !== 201) throw new Error(`passkey registration: ${added.status} ${JSON.stringify(added.body)}`);
  return { passkey: added.body.data as { id: string; name: string; recoveryCodes?: string[] }, credential, authenticator };
}

/** A signed-up user (email proven, signed in) with one passkey. */
export async function passkeyUser(t: TestApp, input: SignUpInput = {}) {
  const account = await signedInUser(t, input);
  const { passkey, credential, authenticator } = await registerPasskey(t, account);
  return { ...account, passkey, credential, authenticator };
}

export async function loginOptions(t: TestApp): Promise<{ challengeId: string; options: { challenge: string; allowCredentials: unknown[]; userVerification: string; rpId: string } }> {
  return (await t.http.post('/api/v1/auth/passkeys/options').expect(200)).body.data;
}

/** A username-less sign-in with `credential` of `authenticator`. */
export async function passkeyLogin(t: TestApp, authenticator: SoftAuthenticator, credential?: SoftCredential) {
  const { challengeId, options } = await loginOptions(t);
  return t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: authenticator.assert(options, credential) });
}

/** passkeyLogin that must succeed: the token pair. */
export async function passkeySignIn(t: TestApp, authenticator: SoftAuthenticator, credential?: SoftCredential) {
  const answer = await passkeyLogin(t, authenticator, credential);
  if (answer.status !== 200) throw new Error(`passkey sign-in: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.data as { accessToken: string; refreshToken: string };
}

export async function mfaPasskeyOptions(t: TestApp, mfaToken: string): Promise<{ challenge: string; allowCredentials: { id: string }[]; userVerification: string }> {
  return (await t.http.post('/api/v1/auth/mfa/passkey-options').send({ mfaToken }).expect(200)).body.data;
}

export async function passwordChallenge(t: TestApp, username: string): Promise<string> {
  const answer = await t.http.post('/api/v1/auth/login').send({ identifier: username, password: DEFAULT_PASSWORD }).expect(200);
  if (answer.body.data.mfaRequired !== true) throw new Error('expected an MFA challenge');
  return answer.body.data.mfaToken as string;
}
