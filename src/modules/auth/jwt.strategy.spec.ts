import { generateKeyPairSync } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { JwtStrategy } from './jwt.strategy';
import type { SessionsService } from './sessions/sessions.service';
import type { TokensService } from './tokens.service';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwt = new JwtService({
  privateKey: privateKey as unknown as string,
  publicKey: publicKey as unknown as string,
  signOptions: { algorithm: 'RS256' },
  verifyOptions: { algorithms: ['RS256'], issuer: 'user-centre', audience: 'user-centre' },
});

function setup() {
  const revoked = new Set<string>();
  const sessions = { isRevoked: jest.fn(async (sid: string) => revoked.has(sid)) };
  const verify = jest.fn(async (value: string) => {
    try {
      return jwt.verify(value);
    } catch {
      return null;
    }
  });
  const strategy = new JwtStrategy({ verify } as unknown as TokensService, sessions as unknown as SessionsService);
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

  it('keeps at most 10,000 tokens, dropping the oldest', async () => {
    const { strategy, verify } = setup();
    const first = token({ jti: 'first' });
    await strategy.authenticate(bearer(first));
    const cache = (strategy as unknown as { verified: Map<string, unknown> }).verified;
    for (let i = 0; i < 9_999; i += 1) cache.set(`filler-${i}`, { exp: Number.MAX_SAFE_INTEGER });
    await strategy.authenticate(bearer(token({ jti: 'second' })));
    expect(cache.size).toBeLessThanOrEqual(10_000);
    verify.mockClear();
    await strategy.authenticate(bearer(first));
    expect(verify).toHaveBeenCalledTimes(1);
  });
});
