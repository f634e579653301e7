import { createHmac, createPrivateKey, generateKeyPairSync, KeyObject, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Hand-made JWTs for attack tests (libraries refuse to mint most of these). */
export function forgeToken(header: Record<string, unknown>, payload: Record<string, unknown>, signer: (input: string) => Buffer | string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = signer(input);
  return `${input}.${typeof signature === 'string' ? signature : signature.toString('base64url')}`;
}

export const rs256 = (key: KeyObject) => (input: string) => sign('RSA-SHA256', Buffer.from(input), key);
export const hs256 = (secret: string | Buffer) => (input: string) => createHmac('sha256', secret).update(input).digest();

export function serverPrivateKey(dataDir: string): KeyObject {
  return createPrivateKey(readFileSync(join(dataDir, 'keys', 'jwt-private.pem'), 'utf8'));
}

export function attackerKeyPair() {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8'));
}

/**
 * A new access token for the session behind `token` (fresh jti, iat and exp), signed with the
 * server's own key: a revocation that holds against it is by session id, not by token bytes.
 */
export function sameSessionToken(token: string, dataDir: string): string {
  const now = Math.floor(Date.now() / 1000);
  return forgeToken(decodePart(token, 0), { ...decodePart(token, 1), jti: randomUUID(), iat: now, exp: now + 900 }, rs256(serverPrivateKey(dataDir)));
}
