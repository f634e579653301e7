import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { Clock } from '@/common/clock';
import type { ClientInfo } from '@/common/http/decorators';
import { loadConfig } from '@/config/app-config';
import type { User } from '@/modules/users/user.entity';
import type { UsersService } from '@/modules/users/users.service';
import { SigningKeys } from './keys/signing-keys.service';
import { REFRESH_MAX_AGE } from './refresh-cookie';
import type { Session } from './sessions/session.entity';
import type { SessionsService } from './sessions/sessions.service';
import { TokensService } from './tokens.service';

const pemOf = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
const [current, previous, stranger] = [0, 1, 2].map(() => generateKeyPairSync('rsa', { modulusLength: 2048 }));

// Half a second past a whole second, so every seconds claim shows whether it was rounded down.
const NOW_MS = 1_800_000_000_500;

function setup(env: Record<string, string> = {}, moduleWidePublicKey?: KeyObject) {
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_PRIVATE_KEYS: JSON.stringify([
      { kid: 'current', privateKey: pemOf(current.privateKey) },
      { kid: 'previous', privateKey: pemOf(previous.privateKey) },
    ]),
    ACCESS_TOKEN_TTL: '600',
    JWT_ISSUER: 'issuer-x',
    JWT_AUDIENCE: 'audience-y',
    ...env,
  });
  const keys = new SigningKeys(config);
  // As auth.module.ts registers it: the signing key only, no module-wide public key.
  const jwt = new JwtService({
    privateKey: keys.signing.privateKey as unknown as string,
    ...(moduleWidePublicKey ? { publicKey: moduleWidePublicKey as unknown as string } : {}),
    signOptions: { algorithm: 'RS256', keyid: keys.signing.kid },
    verifyOptions: { algorithms: ['RS256'], issuer: config.tokens.issuer, audience: config.tokens.audience },
  });
  const clock = { now: () => NOW_MS } as Clock;
  const users = { toResponse: jest.fn((user: User) => ({ id: user.id, role: user.role, username: user.username })) };
  const sessions = { open: jest.fn() };
  const tokens = new TokensService(jwt, sessions as unknown as SessionsService, users as unknown as UsersService, clock, keys, config);
  return { tokens, jwt, users, sessions, config };
}

function account(overrides: Partial<User> = {}): User {
  return { id: 'user-1', username: 'alice', role: 'normal_user', mfaMethods: null, ...overrides } as User;
}

function session(overrides: Partial<Session> = {}): Session {
  return {
    id: 'session-1',
    userId: 'user-1',
    authenticatedAt: new Date(1_799_999_000_700),
    createdAt: new Date(1_799_990_000_123),
    expiresAt: new Date(NOW_MS + 1_000_400),
    amr: 'pwd,otp',
    ...overrides,
  } as Session;
}

const decode = (jwt: JwtService, token: string) => jwt.decode(token, { complete: true }) as { header: Record<string, unknown>; payload: Record<string, unknown> };

/** Signs claims with any key, as an attacker or an older release might have. */
function forge(claims: Record<string, unknown>, options: { key?: KeyObject; kid?: string | null; issuer?: string; audience?: string } = {}) {
  const { key = current.privateKey, kid = 'current', issuer = 'issuer-x', audience = 'audience-y' } = options;
  const signer = new JwtService({ privateKey: key as unknown as string });
  const now = Math.floor(Date.now() / 1000);
  return signer.sign({ role: 'normal_user', sid: 'session-1', iat: now, exp: now + 300, ...claims }, {
    algorithm: 'RS256',
    ...(kid === null ? {} : { keyid: kid }),
    subject: 'user-1',
    issuer,
    audience,
  });
}

describe('TokensService', () => {
  describe('pair', () => {
    it('signs exactly the claims the guard and the resource servers read, with the signing kid and RS256', () => {
      const { tokens, jwt } = setup();
      const answer = tokens.pair(account(), session(), 'refresh-1');
      const { header, payload } = decode(jwt, answer.accessToken);
      expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'current' });
      const { jti, ...rest } = payload;
      expect(rest).toStrictEqual({
        role: 'normal_user',
        sid: 'session-1',
        auth_time: 1_799_999_000,
        session_start_ms: 1_799_990_000_123,
        amr: ['pwd', 'otp'],
        iat: 1_800_000_000,
        exp: 1_800_000_600,
        sub: 'user-1',
        iss: 'issuer-x',
        aud: 'audience-y',
      });
      expect(jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('gives every token its own jti', () => {
      const { tokens, jwt } = setup();
      const ids = new Set(Array.from({ length: 5 }, () => decode(jwt, tokens.pair(account(), session(), 'r').accessToken).payload.jti));
      expect(ids.size).toBe(5);
    });

    it('answers the pair, its lifetime in seconds and when it ends, and stamps the refresh token’s remaining life (rounded up)', () => {
      const { tokens, users } = setup();
      const user = account();
      const answer = tokens.pair(user, session(), 'refresh-1');
      expect(users.toResponse).toHaveBeenCalledWith(user);
      expect({ ...answer, accessToken: 'x' }).toStrictEqual({
        mfaRequired: false,
        accessToken: 'x',
        tokenType: 'Bearer',
        expiresIn: 600,
        expiresAt: new Date(1_800_000_600_000).toISOString(),
        refreshToken: 'refresh-1',
        user: { id: 'user-1', role: 'normal_user', username: 'alice' },
        // 1,000.4 s left: the cookie must not die before the session can no longer be refreshed.
        [REFRESH_MAX_AGE]: 1001,
      });
    });

    it('takes the role from the account view, and the amr from the session (empty parts dropped, none when the session has none)', () => {
      const { tokens, jwt, users } = setup();
      users.toResponse.mockImplementationOnce((user: User) => ({ id: user.id, role: 'creator', username: user.username }));
      expect(decode(jwt, tokens.pair(account(), session({ amr: 'pwd,,otp,' }), 'r').accessToken).payload).toMatchObject({ role: 'creator', amr: ['pwd', 'otp'] });
      expect(decode(jwt, tokens.pair(account(), session({ amr: null }), 'r').accessToken).payload.amr).toStrictEqual([]);
    });

    it('claims mfa_enabled only for an account with a second factor', () => {
      const { tokens, jwt } = setup();
      expect(decode(jwt, tokens.pair(account({ mfaMethods: 'totp' }), session(), 'r').accessToken).payload.mfa_enabled).toBe(true);
      for (const mfaMethods of [null, '']) expect(decode(jwt, tokens.pair(account({ mfaMethods }), session(), 'r').accessToken).payload).not.toHaveProperty('mfa_enabled');
    });

    it('claims mfa_enrolment only for a role in MFA_REQUIRED_ROLES without a second factor', () => {
      const { tokens, jwt } = setup({ MFA_REQUIRED_ROLES: 'admin' });
      const claims = (user: User) => decode(jwt, tokens.pair(user, session(), 'r').accessToken).payload;
      expect(claims(account({ role: 'admin' }))).toMatchObject({ mfa_enrolment: true });
      expect(claims(account({ role: 'admin' }))).not.toHaveProperty('mfa_enabled');
      expect(claims(account({ role: 'admin', mfaMethods: 'passkey' }))).not.toHaveProperty('mfa_enrolment');
      expect(claims(account({ role: 'normal_user' }))).not.toHaveProperty('mfa_enrolment');
    });
  });

  describe('signIn', () => {
    it('opens a session for the account (client, amr and what commits with it) and answers its pair', async () => {
      const { tokens, sessions, jwt } = setup();
      const client: ClientInfo = { ip: '203.0.113.9', userAgent: 'test' } as ClientInfo;
      const alsoWrite = jest.fn();
      sessions.open.mockResolvedValue({ session: session({ id: 'session-9' }), refreshToken: 'refresh-9' });
      const answer = await tokens.signIn(account(), client, ['pwd'], alsoWrite);
      expect(sessions.open).toHaveBeenCalledWith('user-1', client, alsoWrite, ['pwd']);
      expect(answer.refreshToken).toBe('refresh-9');
      expect(decode(jwt, answer.accessToken).payload.sid).toBe('session-9');
    });
  });

  describe('verify', () => {
    it('answers the claims of a token it minted', async () => {
      const { tokens } = setup();
      const claims = await tokens.verify(tokens.pair(account(), session(), 'r').accessToken);
      expect(claims).toMatchObject({ sub: 'user-1', sid: 'session-1', role: 'normal_user', iss: 'issuer-x', aud: 'audience-y' });
    });

    it('accepts a token of every published key, each by its own kid', async () => {
      const { tokens } = setup();
      expect(await tokens.verify(forge({}, { key: previous.privateKey, kid: 'previous' }))).toMatchObject({ sub: 'user-1' });
    });

    it('refuses a token without a kid, with an unknown kid, or signed by another key than its kid names (null, never a throw)', async () => {
      const { tokens } = setup();
      expect(await tokens.verify(forge({}, { kid: null }))).toBeNull();
      expect(await tokens.verify(forge({}, { kid: 'unknown' }))).toBeNull();
      expect(await tokens.verify(forge({}, { key: previous.privateKey, kid: 'current' }))).toBeNull();
      expect(await tokens.verify(forge({}, { key: stranger.privateKey, kid: 'current' }))).toBeNull();
    });

    it('never tries a token whose kid names no key against a default key, even if the JwtModule were given one', async () => {
      const { tokens } = setup({}, current.publicKey);
      expect(await tokens.verify(forge({}))).toMatchObject({ sub: 'user-1' });
      expect(await tokens.verify(forge({}, { kid: null }))).toBeNull();
      expect(await tokens.verify(forge({}, { kid: 'unknown' }))).toBeNull();
    });

    it('refuses another issuer or audience, an expired token and text that is no token', async () => {
      const { tokens } = setup();
      expect(await tokens.verify(forge({}, { issuer: 'someone-else' }))).toBeNull();
      expect(await tokens.verify(forge({}, { audience: 'someone-else' }))).toBeNull();
      expect(await tokens.verify(forge({ exp: Math.floor(Date.now() / 1000) - 10 }))).toBeNull();
      for (const text of ['', 'not.a.token', 'abc']) expect(await tokens.verify(text)).toBeNull();
    });

    it('refuses a validly signed token that lacks exp, sub, sid or role, or has one of the wrong type', async () => {
      const { tokens } = setup();
      const now = Math.floor(Date.now() / 1000);
      const signer = new JwtService({ privateKey: current.privateKey as unknown as string });
      const sign = (payload: Record<string, unknown>) => signer.sign(payload, { algorithm: 'RS256', keyid: 'current', issuer: 'issuer-x', audience: 'audience-y' });
      const complete = { sub: 'user-1', sid: 'session-1', role: 'normal_user', iat: now, exp: now + 300 };
      expect(await tokens.verify(sign(complete))).toMatchObject({ sub: 'user-1' });
      for (const claim of ['exp', 'sub', 'sid', 'role'] as const) {
        const { [claim]: _left, ...without } = complete;
        expect(await tokens.verify(sign(without))).toBeNull();
      }
      expect(await tokens.verify(sign({ ...complete, sid: 7 }))).toBeNull();
      expect(await tokens.verify(sign({ ...complete, role: ['admin'] }))).toBeNull();
    });
  });
});
