import { generateKeyPairSync } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '@/config/app-config';
import { JwtStrategy, VERIFIED_ENTRY_OVERHEAD_BYTES } from './jwt.strategy';
import type { SessionsService } from './sessions/sessions.service';
import type { TokensService } from './tokens.service';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwt = new JwtService({
  privateKey: privateKey as unknown as string,
  publicKey: publicKey as unknown as string,
  signOptions: { algorithm: 'RS256' },
  verifyOptions: { algorithms: ['RS256'], issuer: 'user-centre', audience: 'user-centre' },
});

function setup(verifiedCache = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 }) {
  const revoked = new Set<string>();
  const sessions = { isRevoked: jest.fn(async (sid: string) => revoked.has(sid)) };
  const verify = jest.fn(async (value: string) => {
    try {
      return jwt.verify(value);
    } catch {
      return null;
    }
  });
  const config = { tokens: { verifiedCache } } as unknown as AppConfig;
  const strategy = new JwtStrategy({ verify } as unknown as TokensService, sessions as unknown as SessionsService, config);
  return { strategy, sessions, revoked, verify };
}

function token(claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ role: 'normal_user', sid: 'session-1', iat: now, exp: now + 900, ...claims }, { subject: 'user-1', issuer: 'user-centre', audience: 'user-centre' });
}

const bearer = (value: string) => `Bearer ${value}`;

afterEach(() => jest.restoreAllMocks());

describe('JwtStrategy', () => {
  it('verifies a token once and answers later requests from the cache, asking about revocation every time', async () => {
    const { strategy, sessions, verify } = setup();
    const access = token();
    for (let i = 0; i < 3; i += 1) expect((await strategy.authenticate(bearer(access)))?.userId).toBe('user-1');
    expect(verify).toHaveBeenCalledTimes(1);
    expect(sessions.isRevoked).toHaveBeenCalledTimes(3);
  });

  it('refuses a remembered token once its session is revoked', async () => {
    const { strategy, revoked } = setup();
    const access = token();
    expect(await strategy.authenticate(bearer(access))).not.toBeNull();
    revoked.add('session-1');
    expect(await strategy.authenticate(bearer(access))).toBeNull();
  });

  it('forgets a remembered token once its session is found revoked', async () => {
    const { strategy, revoked } = setup();
    await strategy.authenticate(bearer(token()));
    const other = token({ sid: 'session-2' });
    await strategy.authenticate(bearer(other));
    expect(strategy.cacheUsage().entries).toBe(2);
    revoked.add('session-1');
    expect(await strategy.authenticate(bearer(token()))).toBeNull();
    expect(strategy.cacheUsage()).toEqual({ entries: 1, bytes: VERIFIED_ENTRY_OVERHEAD_BYTES + other.length });
  });

  it('forgets the token of an Authorization header on request (sign-out), and nothing else', async () => {
    const { strategy, verify } = setup();
    const access = token();
    const other = token({ sid: 'session-2' });
    await strategy.authenticate(bearer(access));
    await strategy.authenticate(bearer(other));
    strategy.forget(undefined);
    strategy.forget('Basic abc');
    strategy.forget(bearer(token({ sid: 'never-seen' })));
    expect(strategy.cacheUsage().entries).toBe(2);
    strategy.forget(`  bearer   ${access} `);
    expect(strategy.cacheUsage()).toEqual({ entries: 1, bytes: VERIFIED_ENTRY_OVERHEAD_BYTES + other.length });
    // Still valid (nothing was revoked here): the next use verifies it again and remembers it again.
    expect(await strategy.authenticate(bearer(access))).not.toBeNull();
    expect(verify).toHaveBeenCalledTimes(3);
    expect(strategy.cacheUsage().entries).toBe(2);
  });

  it('refuses a remembered token once it has expired', async () => {
    const { strategy } = setup();
    const now = Date.now();
    const access = token({ exp: Math.floor(now / 1000) + 60 });
    expect(await strategy.authenticate(bearer(access))).not.toBeNull();
    jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    expect(await strategy.authenticate(bearer(access))).toBeNull();
  });

  it('refuses a remembered token from the second of its exp on, as jsonwebtoken does', async () => {
    const { strategy } = setup();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const access = token({ exp });
    expect(await strategy.authenticate(bearer(access))).not.toBeNull();
    jest.spyOn(Date, 'now').mockReturnValue(exp * 1000 - 1);
    expect(await strategy.authenticate(bearer(access))).not.toBeNull();
    jest.spyOn(Date, 'now').mockReturnValue(exp * 1000);
    expect(await strategy.authenticate(bearer(access))).toBeNull();
  });

  it('never remembers a token that failed verification', async () => {
    const { strategy, verify } = setup();
    const [header, payload] = token().split('.');
    const tampered = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    expect(await strategy.authenticate(bearer(tampered))).toBeNull();
    expect(await strategy.authenticate(bearer(tampered))).toBeNull();
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('answers null without a bearer token', async () => {
    const { strategy, verify } = setup();
    expect(await strategy.authenticate(undefined)).toBeNull();
    expect(await strategy.authenticate('Basic abc')).toBeNull();
    expect(verify).not.toHaveBeenCalled();
  });

  it('reads exactly "Bearer <token>": any case, one or more spaces, surrounding white space; nothing before or after', async () => {
    const { strategy, verify } = setup();
    const access = token();
    for (const header of [`Bearer ${access}`, `bearer ${access}`, `BEARER   ${access}`, `  Bearer ${access} \t`]) {
      expect((await strategy.authenticate(header))?.userId).toBe('user-1');
    }
    verify.mockClear();
    for (const header of [`Basic Bearer ${access}`, `XBearer ${access}`, `Bearer ${access} extra`, `Bearer ${access},${access}`, `Bearer${access}`, 'Bearer ']) {
      expect(await strategy.authenticate(header)).toBeNull();
    }
    // `Bearer a,b` reaches verification as one (invalid) token; no header here hands over the valid one.
    expect(verify.mock.calls.every(([value]) => value !== access)).toBe(true);
  });

  it('answers the principal the token claims, and safe defaults for claims it lacks or mistypes', async () => {
    const { strategy } = setup();
    const full = token({ jti: 'token-1', auth_time: 1_800_000_000, amr: ['pwd', 'mfa'], mfa_enabled: true, mfa_enrolment: true, role: 'admin' });
    expect(await strategy.authenticate(bearer(full))).toStrictEqual({
      userId: 'user-1',
      role: 'admin',
      sessionId: 'session-1',
      tokenId: 'token-1',
      authTime: 1_800_000_000,
      via: 'bearer',
      amr: ['pwd', 'mfa'],
      mfaEnabled: true,
      enrolmentOnly: true,
    });
    const bare = token();
    expect(await strategy.authenticate(bearer(bare))).toStrictEqual({
      userId: 'user-1',
      role: 'normal_user',
      sessionId: 'session-1',
      tokenId: null,
      authTime: null,
      via: 'bearer',
      amr: [],
      mfaEnabled: false,
      enrolmentOnly: false,
    });
    const mistyped = token({ jti: 'token-2', auth_time: '1800000000', amr: 'pwd', mfa_enabled: 'true', mfa_enrolment: 1 });
    expect(await strategy.authenticate(bearer(mistyped))).toMatchObject({ authTime: null, amr: [], mfaEnabled: false, enrolmentOnly: false });
  });

  it('asks about revocation with the session id and the session start the token claims (0 without one)', async () => {
    const { strategy, sessions } = setup();
    await strategy.authenticate(bearer(token({ session_start_ms: 1_799_000_000_123 })));
    await strategy.authenticate(bearer(token({ sid: 'session-2' })));
    expect(sessions.isRevoked.mock.calls).toStrictEqual([
      ['session-1', 1_799_000_000_123],
      ['session-2', 0],
    ]);
  });

  it('keeps at most TOKEN_CACHE_MAX_ENTRIES tokens, dropping the oldest', async () => {
    const { strategy, verify } = setup({ maxEntries: 5, maxBytes: 16 * 1024 * 1024 });
    const tokens = Array.from({ length: 8 }, (_, i) => token({ jti: `t${i}` }));
    for (const access of tokens) await strategy.authenticate(bearer(access));
    expect(strategy.cacheUsage().entries).toBe(5);
    verify.mockClear();
    await strategy.authenticate(bearer(tokens[7])); // among the newest five: remembered
    expect(verify).toHaveBeenCalledTimes(0);
    await strategy.authenticate(bearer(tokens[0])); // the oldest: forgotten, verified again
    expect(verify).toHaveBeenCalledTimes(1);
    expect(strategy.cacheUsage().entries).toBe(5);
  });

  it('keeps the cache within TOKEN_CACHE_MAX_MB, dropping the oldest', async () => {
    const access = token({ jti: 'sized' });
    const perEntry = VERIFIED_ENTRY_OVERHEAD_BYTES + access.length;
    const { strategy, verify } = setup({ maxEntries: 10_000, maxBytes: perEntry * 3 + 10 });
    const tokens = Array.from({ length: 6 }, (_, i) => token({ jti: `sized${i}` }));
    for (const t of tokens) await strategy.authenticate(bearer(t));
    const usage = strategy.cacheUsage();
    expect(usage.entries).toBe(3);
    expect(usage.bytes).toBeLessThanOrEqual(perEntry * 3 + 10);
    verify.mockClear();
    await strategy.authenticate(bearer(tokens[5]));
    await strategy.authenticate(bearer(tokens[0]));
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('fills TOKEN_CACHE_MAX_MB to the byte: exactly three entries fit a bound of exactly three', async () => {
    const tokens = Array.from({ length: 4 }, (_, i) => token({ jti: `exact${i}` }));
    const perEntry = VERIFIED_ENTRY_OVERHEAD_BYTES + tokens[0].length;
    expect(new Set(tokens.map((t) => t.length))).toStrictEqual(new Set([perEntry - VERIFIED_ENTRY_OVERHEAD_BYTES]));
    const { strategy, verify } = setup({ maxEntries: 10_000, maxBytes: perEntry * 3 });
    for (const t of tokens.slice(0, 3)) await strategy.authenticate(bearer(t));
    expect(strategy.cacheUsage()).toStrictEqual({ entries: 3, bytes: perEntry * 3 });
    await strategy.authenticate(bearer(tokens[3]));
    expect(strategy.cacheUsage()).toStrictEqual({ entries: 3, bytes: perEntry * 3 });
    verify.mockClear();
    await strategy.authenticate(bearer(tokens[1]));
    expect(verify).not.toHaveBeenCalled();
  });

  it('remembers a token exactly as large as TOKEN_CACHE_MAX_MB, and never one larger (it still authenticates)', async () => {
    const access = token({ jti: 'big' });
    const perEntry = VERIFIED_ENTRY_OVERHEAD_BYTES + access.length;
    const exact = setup({ maxEntries: 10, maxBytes: perEntry });
    await exact.strategy.authenticate(bearer(access));
    expect(exact.strategy.cacheUsage()).toStrictEqual({ entries: 1, bytes: perEntry });

    const small = setup({ maxEntries: 10, maxBytes: perEntry - 1 });
    expect((await small.strategy.authenticate(bearer(access)))?.userId).toBe('user-1');
    expect((await small.strategy.authenticate(bearer(access)))?.userId).toBe('user-1');
    expect(small.verify).toHaveBeenCalledTimes(2);
    expect(small.strategy.cacheUsage()).toStrictEqual({ entries: 0, bytes: 0 });
  });

  it('remembers nothing with TOKEN_CACHE_MAX_ENTRIES=0', async () => {
    const { strategy, verify } = setup({ maxEntries: 0, maxBytes: 1024 * 1024 });
    const access = token();
    await strategy.authenticate(bearer(access));
    await strategy.authenticate(bearer(access));
    expect(verify).toHaveBeenCalledTimes(2);
    expect(strategy.cacheUsage()).toEqual({ entries: 0, bytes: 0 });
  });
});
