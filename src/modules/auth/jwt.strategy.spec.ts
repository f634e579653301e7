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

  it('refuses a remembered token once it has expired', async () => {
    const { strategy } = setup();
    const now = Date.now();
    const access = token({ exp: Math.floor(now / 1000) + 60 });
    expect(await strategy.authenticate(bearer(access))).not.toBeNull();
    jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
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

  it('remembers nothing with TOKEN_CACHE_MAX_ENTRIES=0', async () => {
    const { strategy, verify } = setup({ maxEntries: 0, maxBytes: 1024 * 1024 });
    const access = token();
    await strategy.authenticate(bearer(access));
    await strategy.authenticate(bearer(access));
    expect(verify).toHaveBeenCalledTimes(2);
    expect(strategy.cacheUsage()).toEqual({ entries: 0, bytes: 0 });
  });
});
