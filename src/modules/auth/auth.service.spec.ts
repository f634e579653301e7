import type { EntityManager } from 'typeorm';
import { AppException, CommonErrors } from '@/common/errors';
import type { ClientInfo } from '@/common/http/decorators';
import type { MemoryKvStore } from '@/common/kv/memory-kv.store';
import type { AppConfig } from '@/config/app-config';
import type { AuditService } from '@/modules/audit/audit.service';
import type { EventsService } from '@/modules/events/events.service';
import { HumanCheckErrors } from '@/modules/human-check/human-check.errors';
import type { HumanCheckService } from '@/modules/human-check/human-check.service';
import type { MetricsService } from '@/modules/operations/metrics.service';
import { classifyIdentifier, IdentifierKind } from '@/modules/users/identity';
import type { User } from '@/modules/users/user.entity';
import { UsersErrors } from '@/modules/users/users.errors';
import type { UsersService } from '@/modules/users/users.service';
import type { VerificationCodesService } from '@/modules/verification/codes/verification-codes.service';
import { VerificationErrors } from '@/modules/verification/verification.errors';
import { person, PERSON_PASSWORD, PERSON_PHONE } from '../../../test/factories/user-rows';
import { storeWithClock } from '../../../test/helpers/store-with-clock';
import { AuthErrors } from './auth.errors';
import { AuthService } from './auth.service';
import type { LoginDto, TokenPairDto } from './dto/auth.dto';
import { LoginThrottle, PasswordAttempt } from './login-throttle.service';
import { MfaChallenges } from './mfa-challenges';
import type { AccessTokenClaims, Principal } from './principal';
import type { Session } from './sessions/session.entity';
import type { RotationResult, SessionsService } from './sessions/sessions.service';
import type { TokensService } from './tokens.service';

// The sign-in flow's rules, one at a time: the real LoginThrottle and MfaChallenges on the in-process
// store with a clock moved by hand, and fakes for the rest that write what they are asked into one
// log, so the order of counting, comparing and answering is pinned. The e2e specs (test/e2e/login,
// test/security/sign-in, sessions, introspection) prove the same over HTTP.

/** The real throttle, writing "count" once an attempt is counted, and how each attempt ends. */
class LoggedThrottle extends LoginThrottle {
  readonly begun: { identifier: IdentifierKind; userId: string | null; ip: string; captchaOffered: boolean }[] = [];
  constructor(
    kv: MemoryKvStore,
    config: AppConfig,
    private readonly log: string[],
  ) {
    super(kv, config);
  }
  override async beginSignIn(identifier: IdentifierKind, userId: string | null, ip: string, captchaOffered: boolean): Promise<PasswordAttempt> {
    this.begun.push({ identifier, userId, ip, captchaOffered });
    return this.logged(await super.beginSignIn(identifier, userId, ip, captchaOffered));
  }
  override async beginCurrentPassword(userId: string): Promise<PasswordAttempt> {
    return this.logged(await super.beginCurrentPassword(userId));
  }
  private logged(attempt: PasswordAttempt): PasswordAttempt {
    this.log.push('count');
    return {
      ...attempt,
      abandon: async () => {
        this.log.push('abandon');
        await attempt.abandon();
      },
      failed: async () => {
        this.log.push('failed');
        return attempt.failed();
      },
      succeeded: async () => {
        this.log.push('succeeded');
        await attempt.succeeded();
      },
    };
  }
}

const RIGHT = PERSON_PASSWORD;
const client: ClientInfo = { ip: '203.0.113.7', userAgent: 'spec', requestId: 'req-1' };
const PHONE = PERSON_PHONE;
const LOCK_AFTER = 4;
const CAPTCHA_AFTER = 2;
const RECENT_AUTH_SECONDS = 600;

function sessionRow(over: Partial<Session> = {}): Session {
  return {
    id: 'session-1',
    userId: 'user-1',
    createdAt: new Date('2027-01-01T10:00:00.000Z'),
    lastUsedAt: new Date('2027-01-02T11:00:00.000Z'),
    expiresAt: new Date('2027-02-01T00:00:00.000Z'),
    revokedAt: null,
    ip: '198.51.100.1',
    userAgent: 'Firefox',
    ...over,
  } as Session;
}

const TX = { name: 'the transaction' } as unknown as EntityManager;

function world() {
  const { clock, kv } = storeWithClock({ start: 1_800_000_000_000 });
  const log: string[] = [];
  const audits: { record: Record<string, unknown>; tx: EntityManager | undefined }[] = [];
  const emitted: { tx: EntityManager; type: string; data: unknown }[] = [];
  const metrics: string[] = [];
  const accounts: User[] = [person()];
  const config = {
    login: { captchaAlways: false, captchaAfterFailures: CAPTCHA_AFTER, lockAfterFailures: LOCK_AFTER, lockSeconds: 900, maxFailuresPerHour: 100, perIpPerMinute: 1000 },
    sessions: { recentAuthSeconds: RECENT_AUTH_SECONDS },
  } as AppConfig;
  const throttle = new LoggedThrottle(kv, config, log);
  const challenges = new MfaChallenges(kv, clock);

  const find = (test: (user: User) => boolean) => accounts.find(test) ?? null;
  const users = {
    findByIdentifierKind: async (identifier: IdentifierKind) => {
      log.push('lookup');
      if (identifier.kind === 'email') return find((user) => user.emailKey === identifier.key);
      if (identifier.kind === 'phone') return find((user) => user.phone === identifier.phone);
      return find((user) => user.usernameKey === identifier.key);
    },
    findByPhone: async (phone: string) => find((user) => user.phone === phone),
    findById: async (id: string) => find((user) => user.id === id),
    getView: jest.fn(async (id: string) => {
      const user = find((candidate) => candidate.id === id);
      if (!user) throw new AppException(UsersErrors.USER_NOT_FOUND);
      return { id: user.id, role: user.role, status: user.status };
    }),
    verifyPassword: async (user: User | null, password: string) => {
      log.push(`compare:${user?.id ?? 'dummy'}`);
      return user !== null && user.passwordHash === `hash:${password}`;
    },
  };

  let evicted: string[] = [];
  const pairs: TokenPairDto[] = [];
  const tokens = {
    signIn: jest.fn(async (user: User, _client: ClientInfo, amr: string[], alsoWrite?: (tx: EntityManager, evicted: string[]) => Promise<void>) => {
      log.push('session');
      await alsoWrite?.(TX, evicted);
      const pair = { mfaRequired: false, accessToken: `access-${user.id}-${amr.join('+')}` } as unknown as TokenPairDto;
      pairs.push(pair);
      return pair;
    }),
    pair: jest.fn(async (user: User, session: Session, refreshToken: string) => ({ mfaRequired: false, accessToken: `access-${user.id}-${session.id}`, refreshToken }) as unknown as TokenPairDto),
    verify: jest.fn(async (token: string): Promise<AccessTokenClaims | null> => claimsByToken.get(token) ?? null),
  };
  const claimsByToken = new Map<string, AccessTokenClaims>();

  let rotation: RotationResult = { outcome: 'invalid' };
  const byRefreshToken = new Map<string, Session>();
  const owned = new Map<string, Session>();
  const revokedSessions = new Set<string>();
  const sessions = {
    rotate: jest.fn(async () => rotation),
    revoke: jest.fn(async (sessionId: string, reason: string, alsoWrite?: (tx: EntityManager) => Promise<void>) => {
      log.push(`revoke:${sessionId}:${reason}`);
      await alsoWrite?.(TX);
    }),
    findByRefreshToken: jest.fn(async (token: string) => byRefreshToken.get(token) ?? null),
    listActive: jest.fn(async () => ({ items: [sessionRow(), sessionRow({ id: 'session-2', ip: null, userAgent: null })], total: 7 })),
    findOwned: jest.fn(async (userId: string, sessionId: string) => {
      const session = owned.get(sessionId);
      return session && session.userId === userId ? session : null;
    }),
    isRevoked: jest.fn(async (sessionId: string) => revokedSessions.has(sessionId)),
  };

  let humanCheckFails: Error | null = null;
  const humanCheck = {
    require: jest.fn(async () => {
      log.push('human-check');
      if (humanCheckFails) throw humanCheckFails;
    }),
  };
  const audit = {
    record: async (record: Record<string, unknown>, tx?: EntityManager) => {
      log.push(`audit:${String(record.type)}`);
      audits.push({ record, tx });
    },
  };
  const events = {
    emit: async (tx: EntityManager, type: string, data: unknown) => {
      emitted.push({ tx, type, data });
    },
  };
  let codeError: Error | null = null;
  const codes = {
    consume: jest.fn(async () => {
      log.push('consume');
      if (codeError) throw codeError;
    }),
  };
  const metricsService = { signIn: (outcome: string, method: string) => metrics.push(`${outcome}:${method}`) };

  const service = new AuthService(
    users as unknown as UsersService,
    tokens as unknown as TokensService,
    sessions as unknown as SessionsService,
    throttle,
    humanCheck as unknown as HumanCheckService,
    audit as unknown as AuditService,
    events as unknown as EventsService,
    codes as unknown as VerificationCodesService,
    config,
    metricsService as unknown as MetricsService,
    challenges,
  );
  return {
    service,
    clock,
    kv,
    log,
    audits,
    emitted,
    metrics,
    accounts,
    throttle,
    challenges,
    users,
    tokens,
    pairs,
    sessions,
    humanCheck,
    codes,
    claimsByToken,
    byRefreshToken,
    owned,
    revokedSessions,
    evict: (ids: string[]) => (evicted = ids),
    rotate: (result: RotationResult) => (rotation = result),
    failHumanCheck: (error: Error | null) => (humanCheckFails = error),
    failCode: (error: Error | null) => (codeError = error),
  };
}

type World = ReturnType<typeof world>;

/** The error code a promise is refused with (and the error itself). */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppException) return error.entry.code;
    throw error;
  }
  throw new Error('expected a refusal');
}

const login = (identifier: string, password: string, extra: Partial<LoginDto> = {}) => ({ identifier, password, ...extra }) as LoginDto;
const withCaptcha = { captchaId: 'c-1', captchaText: 'abcd' };

const failure = (reason: string, userId: string | null = 'user-1') => ({ record: { type: 'sign_in', outcome: 'failure', userId, client, detail: { reason } }, tx: undefined });
const locked = (userId: string | null = 'user-1') => ({ record: { type: 'account_locked', outcome: 'denied', userId, client }, tx: undefined });
const success = (method: string) => ({ record: { type: 'sign_in', outcome: 'success', userId: 'user-1', actorId: 'user-1', client, detail: { method } }, tx: TX });

describe('AuthService.login (password)', () => {
  it('counts the attempt before it compares; a right password ends the streak and opens a session (amr pwd) in one write with its audit', async () => {
    const w = world();
    const answer = await w.service.login(login('alice_01', RIGHT), client);
    expect(answer).toBe(w.pairs[0]);
    expect(w.log).toStrictEqual(['lookup', 'count', 'compare:user-1', 'succeeded', 'session', 'audit:sign_in']);
    expect(w.tokens.signIn).toHaveBeenCalledWith(w.accounts[0], client, ['pwd'], expect.any(Function));
    expect(w.audits).toStrictEqual([success('password')]);
    expect(w.metrics).toStrictEqual(['success:password']);
    expect(w.throttle.begun).toStrictEqual([{ identifier: classifyIdentifier('alice_01'), userId: 'user-1', ip: client.ip, captchaOffered: false }]);
  });

  it('reads an identifier in any case and width as the one identifier (NFKC), for the lookup and the counters', async () => {
    const w = world();
    await w.service.login(login('ＡＬＩＣＥ＿０１', RIGHT), client);
    await w.service.login(login('Alice@Example.com', RIGHT), client);
    expect(w.throttle.begun.map((begun) => begun.identifier)).toStrictEqual([classifyIdentifier('alice_01'), classifyIdentifier('alice@example.com')]);
    expect(w.pairs).toHaveLength(2);
  });

  it('tells the throttle a captcha was offered when the request carries any human-check field', async () => {
    const w = world();
    await w.service.login(login('alice_01', RIGHT, { altcha: 'x' }), client);
    expect(w.throttle.begun[0].captchaOffered).toBe(true);
  });

  it('a wrong password: counted, compared, failed; 401 INVALID_CREDENTIALS, audited as wrong_password, no session', async () => {
    const w = world();
    expect(await refusal(w.service.login(login('alice_01', 'wrong'), client))).toBe('INVALID_CREDENTIALS');
    expect(w.log).toStrictEqual(['lookup', 'count', 'compare:user-1', 'failed', 'audit:sign_in']);
    expect(w.audits).toStrictEqual([failure('wrong_password')]);
    expect(w.metrics).toStrictEqual(['failure:password']);
    expect(w.tokens.signIn).not.toHaveBeenCalled();
  });

  it('an unknown account: the dummy compare, the same 401, audited as unknown_account with no user', async () => {
    const w = world();
    expect(await refusal(w.service.login(login('nobody_here', RIGHT), client))).toBe('INVALID_CREDENTIALS');
    expect(w.log).toStrictEqual(['lookup', 'count', 'compare:dummy', 'failed', 'audit:sign_in']);
    expect(w.throttle.begun[0].userId).toBeNull();
    expect(w.audits).toStrictEqual([failure('unknown_account', null)]);
    expect(w.metrics).toStrictEqual(['failure:password']);
  });

  it('a disabled account: the same 401 even with the right password, counted as a failure and audited as disabled', async () => {
    const w = world();
    w.accounts[0].status = 'disabled';
    expect(await refusal(w.service.login(login('alice_01', RIGHT), client))).toBe('INVALID_CREDENTIALS');
    expect(w.log).toStrictEqual(['lookup', 'count', 'compare:user-1', 'failed', 'audit:sign_in']);
    expect(w.audits).toStrictEqual([failure('disabled')]);
    // A wrong password on a disabled account is a wrong password.
    await refusal(w.service.login(login('alice_01', 'wrong'), client));
    expect(w.audits[1]).toStrictEqual(failure('wrong_password'));
    expect(w.tokens.signIn).not.toHaveBeenCalled();
  });

  it('past the account’s bound the real hash is not compared (the dummy is): the right password answers 401 account_locked, and the failure that locks is audited', async () => {
    const w = world();
    // The account's failures come through its email (with a captcha past CAPTCHA_AFTER): only the last locks it.
    for (let i = 0; i < LOCK_AFTER; i++) await refusal(w.service.login(login('alice@example.com', 'wrong', withCaptcha), client));
    expect(w.audits.map((entry) => entry.record.type)).toStrictEqual([...Array(LOCK_AFTER).fill('sign_in'), 'account_locked']);
    expect(w.audits[LOCK_AFTER]).toStrictEqual(locked());
    w.log.length = 0;
    w.audits.length = 0;
    expect(await refusal(w.service.login(login('alice_01', RIGHT), client))).toBe('INVALID_CREDENTIALS');
    expect(w.log).toStrictEqual(['lookup', 'count', 'compare:dummy', 'failed', 'audit:sign_in']);
    expect(w.audits).toStrictEqual([failure('account_locked')]);
    expect(w.tokens.signIn).not.toHaveBeenCalled();
  });

  it('an identifier nobody holds locks too, audited with no user', async () => {
    const w = world();
    for (let i = 0; i < LOCK_AFTER; i++) await refusal(w.service.login(login('nobody_here', 'wrong', withCaptcha), client));
    expect(w.audits.at(-1)).toStrictEqual(locked(null));
    expect(await refusal(w.service.login(login('nobody_here', 'wrong', withCaptcha), client))).toBe('TOO_MANY_REQUESTS');
  });

  it('asks for the human check only past CAPTCHA_AFTER failures, after counting and before comparing', async () => {
    const w = world();
    for (let i = 0; i < CAPTCHA_AFTER; i++) await refusal(w.service.login(login('alice_01', 'wrong'), client));
    expect(w.humanCheck.require).not.toHaveBeenCalled();
    w.log.length = 0;
    const dto = login('alice_01', RIGHT, withCaptcha);
    await w.service.login(dto, client);
    expect(w.humanCheck.require).toHaveBeenCalledWith(dto, client);
    expect(w.log).toStrictEqual(['lookup', 'count', 'human-check', 'compare:user-1', 'succeeded', 'session', 'audit:sign_in']);
  });

  it('a refused human check gives the attempt back (it does not count), compares nothing, and answers the check’s own error', async () => {
    const w = world();
    for (let i = 0; i < CAPTCHA_AFTER; i++) await refusal(w.service.login(login('alice_01', 'wrong'), client));
    w.log.length = 0;
    w.audits.length = 0;
    const refused = new AppException(HumanCheckErrors.CAPTCHA_INVALID);
    w.failHumanCheck(refused);
    await expect(w.service.login(login('alice_01', RIGHT, withCaptcha), client)).rejects.toBe(refused);
    expect(w.log).toStrictEqual(['lookup', 'count', 'human-check', 'abandon']);
    expect(w.audits).toStrictEqual([]);
    // Given back: LOCK_AFTER - CAPTCHA_AFTER more wrong answers still lock, not one fewer.
    w.failHumanCheck(null);
    for (let i = CAPTCHA_AFTER; i < LOCK_AFTER - 1; i++) await refusal(w.service.login(login('alice_01', 'wrong', withCaptcha), client));
    expect(w.audits.some((entry) => entry.record.type === 'account_locked')).toBe(false);
  });

  it('an account with a second factor: the right password opens an MFA challenge (amr pwd) and only gives its own attempt back', async () => {
    const w = world();
    w.accounts[0].mfaMethods = 'totp';
    await refusal(w.service.login(login('alice_01', 'wrong'), client));
    w.log.length = 0;
    w.audits.length = 0;
    w.metrics.length = 0;
    const answer = await w.service.login(login('alice_01', RIGHT), client);
    expect(answer).toMatchObject({ mfaRequired: true, methods: ['totp', 'recovery_code'] });
    expect(await w.challenges.peek((answer as { mfaToken: string }).mfaToken)).toStrictEqual({ userId: 'user-1', amr: ['pwd'] });
    expect(w.log).toStrictEqual(['lookup', 'count', 'compare:user-1', 'abandon']);
    expect(w.audits).toStrictEqual([]);
    expect(w.metrics).toStrictEqual([]);
    expect(w.tokens.signIn).not.toHaveBeenCalled();
    // The earlier failure stands: one more (CAPTCHA_AFTER in all) and a captcha is due.
    await refusal(w.service.login(login('alice_01', 'wrong'), client));
    expect(await refusal(w.service.login(login('alice_01', RIGHT), client))).toBe('CAPTCHA_REQUIRED');
  });
});

describe('AuthService.loginBySms', () => {
  it('refuses a number that is no phone number with VALIDATION_FAILED on phone, before any code is spent', async () => {
    const w = world();
    await expect(w.service.loginBySms('12345', '123456', client)).rejects.toMatchObject({
      entry: CommonErrors.VALIDATION_FAILED,
      extra: { details: [{ field: 'phone', message: 'phone must be an E.164 number or an 11-digit Chinese mobile number' }] },
    });
    expect(w.codes.consume).not.toHaveBeenCalled();
  });

  it('spends the login code of the normalised number, then opens a session (amr sms), audited as sms_code', async () => {
    const w = world();
    const answer = await w.service.loginBySms('138 0013 8000', '123456', client);
    expect(w.codes.consume).toHaveBeenCalledWith({ channel: 'sms', destination: PHONE, purpose: 'login' }, '123456');
    expect(answer).toBe(w.pairs[0]);
    expect(w.tokens.signIn).toHaveBeenCalledWith(w.accounts[0], client, ['sms'], expect.any(Function));
    expect(w.audits).toStrictEqual([success('sms_code')]);
    expect(w.metrics).toStrictEqual(['success:sms_code']);
  });

  it('a wrong or dead code is a failed sign-in: audited with the holder and the code’s reason, counted, and answered with the code’s own error', async () => {
    const w = world();
    const wrong = new AppException(VerificationErrors.CODE_INVALID);
    w.failCode(wrong);
    await expect(w.service.loginBySms(PHONE, '000000', client)).rejects.toBe(wrong);
    expect(w.audits).toStrictEqual([{ record: { type: 'sign_in', outcome: 'failure', userId: 'user-1', client, detail: { method: 'sms_code', reason: 'code_invalid' } }, tx: undefined }]);
    expect(w.metrics).toStrictEqual(['failure:sms_code']);
    const expired = new AppException(VerificationErrors.CODE_EXPIRED);
    w.failCode(expired);
    await expect(w.service.loginBySms('+8613900139000', '000000', client)).rejects.toBe(expired);
    expect(w.audits[1].record).toStrictEqual({ type: 'sign_in', outcome: 'failure', userId: null, client, detail: { method: 'sms_code', reason: 'code_expired' } });
    expect(w.tokens.signIn).not.toHaveBeenCalled();
  });

  it('a failure that is not an answer (the store is down) is passed on, not audited as a sign-in', async () => {
    const w = world();
    const down = new Error('store down');
    w.failCode(down);
    await expect(w.service.loginBySms(PHONE, '123456', client)).rejects.toBe(down);
    expect(w.audits).toStrictEqual([]);
    expect(w.metrics).toStrictEqual([]);
  });

  it('a right code for a number with no account, or a disabled one, answers 401 INVALID_CREDENTIALS, audited with its reason', async () => {
    const w = world();
    expect(await refusal(w.service.loginBySms('+8613900139000', '123456', client))).toBe('INVALID_CREDENTIALS');
    w.accounts[0].status = 'disabled';
    expect(await refusal(w.service.loginBySms(PHONE, '123456', client))).toBe('INVALID_CREDENTIALS');
    expect(w.audits).toStrictEqual([
      { record: { type: 'sign_in', outcome: 'failure', userId: null, client, detail: { method: 'sms_code', reason: 'unknown_account' } }, tx: undefined },
      { record: { type: 'sign_in', outcome: 'failure', userId: 'user-1', client, detail: { method: 'sms_code', reason: 'disabled' } }, tx: undefined },
    ]);
    expect(w.tokens.signIn).not.toHaveBeenCalled();
  });

  it('an account with a second factor gets an MFA challenge (amr sms), not tokens', async () => {
    const w = world();
    w.accounts[0].mfaMethods = 'totp';
    const answer = await w.service.loginBySms(PHONE, '123456', client);
    expect(await w.challenges.peek((answer as { mfaToken: string }).mfaToken)).toStrictEqual({ userId: 'user-1', amr: ['sms'] });
    expect(w.tokens.signIn).not.toHaveBeenCalled();
  });
});

describe('AuthService.completeSignIn', () => {
  it('audits and announces each session it signed out for SESSIONS_PER_USER, in the sign-in’s transaction', async () => {
    const w = world();
    w.evict(['old-1', 'old-2']);
    const answer = await w.service.completeSignIn(w.accounts[0], client, 'federated', ['fed']);
    expect(answer).toBe(w.pairs[0]);
    const revoked = (sessionId: string) => ({ record: { type: 'session_revoked', outcome: 'success', userId: 'user-1', actorId: 'user-1', client, detail: { sessionId, reason: 'session_limit' } }, tx: TX });
    expect(w.audits).toStrictEqual([success('federated'), revoked('old-1'), revoked('old-2')]);
    expect(w.emitted).toStrictEqual([
      { tx: TX, type: 'session.revoked', data: { userId: 'user-1', sessionId: 'old-1', reason: 'session_limit' } },
      { tx: TX, type: 'session.revoked', data: { userId: 'user-1', sessionId: 'old-2', reason: 'session_limit' } },
    ]);
    expect(w.metrics).toStrictEqual(['success:federated']);
  });
});

describe('AuthService: counted checks of the current password or a second factor', () => {
  it('counts before it compares; a right answer gives the attempt back', async () => {
    const w = world();
    const compare = jest.fn(async () => {
      w.log.push('compare');
      return true;
    });
    expect(await w.service.countedCheck(w.accounts[0], client, compare)).toBe(true);
    expect(w.log).toStrictEqual(['count', 'compare', 'succeeded']);
    expect(w.audits).toStrictEqual([]);
  });

  it('a wrong answer stays counted; the one that locks the account is audited; then 429 without comparing', async () => {
    const w = world();
    for (let i = 0; i < LOCK_AFTER - 1; i++) expect(await w.service.currentPasswordMatches(w.accounts[0], 'wrong', client)).toBe(false);
    expect(w.audits).toStrictEqual([]);
    expect(w.log.slice(0, 3)).toStrictEqual(['count', 'compare:user-1', 'failed']);
    expect(await w.service.currentPasswordMatches(w.accounts[0], 'wrong', client)).toBe(false);
    expect(w.audits).toStrictEqual([{ record: { type: 'account_locked', outcome: 'denied', userId: 'user-1', actorId: 'user-1', client }, tx: undefined }]);
    w.log.length = 0;
    expect(await refusal(w.service.currentPasswordMatches(w.accounts[0], RIGHT, client))).toBe('TOO_MANY_REQUESTS');
    expect(w.log).toStrictEqual([]);
  });

  it('currentPasswordMatches compares the account’s own hash; assertCurrentPassword answers 400 PASSWORD_INCORRECT', async () => {
    const w = world();
    expect(await w.service.currentPasswordMatches(w.accounts[0], RIGHT, client)).toBe(true);
    expect(w.log).toStrictEqual(['count', 'compare:user-1', 'succeeded']);
    await expect(w.service.assertCurrentPassword(w.accounts[0], RIGHT, client)).resolves.toBeUndefined();
    await expect(w.service.assertCurrentPassword(w.accounts[0], 'wrong', client)).rejects.toMatchObject({ entry: UsersErrors.PASSWORD_INCORRECT });
  });
});

describe('AuthService.refresh', () => {
  it('answers a new pair for the rotated session and its successor token', async () => {
    const w = world();
    const session = sessionRow();
    w.rotate({ outcome: 'rotated', session, refreshToken: 'rt-next' });
    const answer = await w.service.refresh('rt-old', client);
    expect(w.sessions.rotate).toHaveBeenCalledWith('rt-old', client);
    expect(w.tokens.pair).toHaveBeenCalledWith(w.accounts[0], session, 'rt-next');
    expect(answer).toStrictEqual({ mfaRequired: false, accessToken: 'access-user-1-session-1', refreshToken: 'rt-next' });
    expect(w.audits).toStrictEqual([]);
  });

  it('a spent token replayed: audited as refresh_reuse (denied) and 401 REFRESH_TOKEN_INVALID', async () => {
    const w = world();
    w.rotate({ outcome: 'reused', session: sessionRow() });
    expect(await refusal(w.service.refresh('rt-spent', client))).toBe('REFRESH_TOKEN_INVALID');
    expect(w.audits).toStrictEqual([{ record: { type: 'refresh_reuse', outcome: 'denied', userId: 'user-1', client, detail: { sessionId: 'session-1' } }, tx: undefined }]);
    expect(w.tokens.pair).not.toHaveBeenCalled();
  });

  it('an unknown token: 401 REFRESH_TOKEN_INVALID, nothing audited', async () => {
    const w = world();
    expect(await refusal(w.service.refresh('rt-unknown', client))).toBe('REFRESH_TOKEN_INVALID');
    expect(w.audits).toStrictEqual([]);
    expect(w.tokens.pair).not.toHaveBeenCalled();
  });

  it('an account that is gone or disabled ends the session (reason disabled) and answers 401', async () => {
    const w = world();
    w.rotate({ outcome: 'rotated', session: sessionRow(), refreshToken: 'rt-next' });
    w.accounts[0].status = 'disabled';
    expect(await refusal(w.service.refresh('rt-old', client))).toBe('REFRESH_TOKEN_INVALID');
    w.accounts.length = 0;
    expect(await refusal(w.service.refresh('rt-old', client))).toBe('REFRESH_TOKEN_INVALID');
    expect(w.log).toStrictEqual(['revoke:session-1:disabled', 'revoke:session-1:disabled']);
    expect(w.tokens.pair).not.toHaveBeenCalled();
  });
});

describe('AuthService.logout', () => {
  const principal = (over: Partial<Principal> = {}): Principal => ({ userId: 'user-1', role: 'normal_user', sessionId: 'session-1', tokenId: 'jti-1', authTime: 1, via: 'bearer', ...over });
  const signOut = (sessionId: string) => ({ record: { type: 'sign_out', outcome: 'success', userId: 'user-1', actorId: 'user-1', client, detail: { sessionId } }, tx: TX });
  const announced = (sessionId: string) => ({ tx: TX, type: 'session.revoked', data: { userId: 'user-1', sessionId, reason: 'logout' } });

  it('ends the caller’s session, audited and announced in its transaction; without a cookie it looks for no other', async () => {
    const w = world();
    await w.service.logout(principal(), client);
    expect(w.log).toStrictEqual(['revoke:session-1:logout', 'audit:sign_out']);
    expect(w.audits).toStrictEqual([signOut('session-1')]);
    expect(w.emitted).toStrictEqual([announced('session-1')]);
    expect(w.sessions.findByRefreshToken).not.toHaveBeenCalled();
  });

  it('an API key has no session to end: 403 SESSION_REQUIRED, nothing revoked', async () => {
    const w = world();
    expect(await refusal(w.service.logout(principal({ sessionId: null, via: 'api-key' }), client, 'rt-cookie'))).toBe('SESSION_REQUIRED');
    expect(w.sessions.revoke).not.toHaveBeenCalled();
  });

  it('the cookie’s session ends too when it is another live session of the same account', async () => {
    const w = world();
    w.byRefreshToken.set('rt-cookie', sessionRow({ id: 'session-2' }));
    await w.service.logout(principal(), client, 'rt-cookie');
    expect(w.sessions.findByRefreshToken).toHaveBeenCalledWith('rt-cookie');
    expect(w.audits).toStrictEqual([signOut('session-1'), signOut('session-2')]);
    expect(w.emitted).toStrictEqual([announced('session-1'), announced('session-2')]);
  });

  it('but not when the cookie names the same session, another account’s, an ended one, or none', async () => {
    for (const cookieSession of [sessionRow(), sessionRow({ id: 'session-2', userId: 'user-2' }), sessionRow({ id: 'session-2', revokedAt: new Date() }), undefined]) {
      const w = world();
      if (cookieSession) w.byRefreshToken.set('rt-cookie', cookieSession);
      await w.service.logout(principal(), client, 'rt-cookie');
      expect(w.log).toStrictEqual(['revoke:session-1:logout', 'audit:sign_out']);
    }
  });
});

describe('AuthService: the caller’s sessions', () => {
  const principal: Principal = { userId: 'user-1', role: 'normal_user', sessionId: 'session-2', tokenId: 'jti', authTime: 1, via: 'bearer' };

  it('lists them as the caller sees them (never a row, never a token), marks the current one, and passes the limit on', async () => {
    const w = world();
    expect(await w.service.listSessions(principal, 2)).toStrictEqual({
      items: [
        { id: 'session-1', createdAt: '2027-01-01T10:00:00.000Z', lastUsedAt: '2027-01-02T11:00:00.000Z', ip: '198.51.100.1', userAgent: 'Firefox', current: false },
        { id: 'session-2', createdAt: '2027-01-01T10:00:00.000Z', lastUsedAt: '2027-01-02T11:00:00.000Z', ip: null, userAgent: null, current: true },
      ],
      total: 7,
    });
    expect(w.sessions.listActive).toHaveBeenCalledWith('user-1', 2);
  });

  it('ends one of its own (reason revoked), audited and announced in its transaction', async () => {
    const w = world();
    w.owned.set('session-9', sessionRow({ id: 'session-9' }));
    await w.service.revokeSession(principal, 'session-9', client);
    expect(w.log).toStrictEqual(['revoke:session-9:revoked', 'audit:session_revoked']);
    expect(w.audits).toStrictEqual([{ record: { type: 'session_revoked', outcome: 'success', userId: 'user-1', actorId: 'user-1', client, detail: { sessionId: 'session-9' } }, tx: TX }]);
    expect(w.emitted).toStrictEqual([{ tx: TX, type: 'session.revoked', data: { userId: 'user-1', sessionId: 'session-9', reason: 'revoked' } }]);
  });

  it('another account’s session, or none, answers 404 SESSION_NOT_FOUND and ends nothing', async () => {
    const w = world();
    w.owned.set('session-9', sessionRow({ id: 'session-9', userId: 'user-2' }));
    expect(await refusal(w.service.revokeSession(principal, 'session-9', client))).toBe('SESSION_NOT_FOUND');
    expect(await refusal(w.service.revokeSession(principal, 'session-404', client))).toBe('SESSION_NOT_FOUND');
    expect(w.sessions.revoke).not.toHaveBeenCalled();
  });
});

describe('AuthService.introspect', () => {
  const claims = (over: Partial<AccessTokenClaims> = {}): AccessTokenClaims => ({
    sub: 'user-1',
    role: 'normal_user',
    sid: 'session-1',
    jti: 'jti-1',
    auth_time: 1_799_999_000,
    session_start_ms: 1_799_999_000_000,
    amr: ['pwd', 'mfa'],
    iat: 1_800_000_000,
    exp: 1_800_000_900,
    iss: 'uc',
    aud: 'uc',
    ...over,
  });

  it('answers an active token with the account’s current role, and only the RFC 7662 fields', async () => {
    const w = world();
    w.claimsByToken.set('t', claims());
    w.accounts[0].role = 'admin';
    expect(await w.service.introspect('t')).toStrictEqual({ active: true, sub: 'user-1', role: 'admin', exp: 1_800_000_900, sid: 'session-1', amr: ['pwd', 'mfa'], auth_time: 1_799_999_000 });
    expect(w.sessions.isRevoked).toHaveBeenCalledWith('session-1', 1_799_999_000_000);
  });

  it('a token without amr answers an empty list; one without session_start_ms is checked as started at the epoch', async () => {
    const w = world();
    w.claimsByToken.set('t', claims({ amr: undefined, session_start_ms: undefined }));
    expect(await w.service.introspect('t')).toMatchObject({ active: true, amr: [] });
    expect(w.sessions.isRevoked).toHaveBeenCalledWith('session-1', 0);
  });

  it('inactive: a token that does not verify, a revoked session, an account gone or disabled', async () => {
    const w = world();
    expect(await w.service.introspect('nonsense')).toStrictEqual({ active: false });
    expect(w.sessions.isRevoked).not.toHaveBeenCalled();
    w.claimsByToken.set('t', claims());
    w.revokedSessions.add('session-1');
    expect(await w.service.introspect('t')).toStrictEqual({ active: false });
    expect(w.users.getView).not.toHaveBeenCalled();
    w.revokedSessions.clear();
    w.accounts[0].status = 'disabled';
    expect(await w.service.introspect('t')).toStrictEqual({ active: false });
    w.accounts.length = 0;
    expect(await w.service.introspect('t')).toStrictEqual({ active: false });
  });

  it('passes on a failure that is not "no such account" (the database is down)', async () => {
    const w = world();
    w.claimsByToken.set('t', claims());
    const down = new Error('database down');
    w.users.getView.mockRejectedValueOnce(down);
    await expect(w.service.introspect('t')).rejects.toBe(down);
  });
});

describe('AuthService: recent authentication', () => {
  const NOW = 1_800_000_000_000;
  const principal = (over: Partial<Principal> = {}): Principal => ({ userId: 'user-1', role: 'normal_user', sessionId: 's', tokenId: 'j', authTime: NOW / 1000 - RECENT_AUTH_SECONDS, via: 'bearer', amr: ['pwd'], ...over });

  it('is within RECENT_AUTH_SECONDS of the sign-in, to the second', async () => {
    const w = world();
    expect(w.service.isRecentlyAuthenticated(principal(), NOW)).toBe(true);
    expect(w.service.isRecentlyAuthenticated(principal(), NOW + 1000)).toBe(false);
    expect(w.service.isRecentlyAuthenticated(principal({ authTime: null }), NOW)).toBe(false);
  });

  it('with a second factor it must have included it: the account row’s current state counts over the token’s', async () => {
    const w = world();
    expect(w.service.isRecentlyAuthenticated(principal({ mfaEnabled: true }), NOW)).toBe(false);
    expect(w.service.isRecentlyAuthenticated(principal({ mfaEnabled: true, amr: ['pwd', 'mfa'] }), NOW)).toBe(true);
    expect(w.service.isRecentlyAuthenticated(principal({ mfaEnabled: false }), NOW, { mfaMethods: 'totp' })).toBe(false);
    expect(w.service.isRecentlyAuthenticated(principal({ mfaEnabled: true }), NOW, { mfaMethods: null })).toBe(true);
    expect(w.service.isRecentlyAuthenticated(principal({ mfaEnabled: true }), NOW, { mfaMethods: '' })).toBe(true);
  });

  it('requireRecentAuthentication answers 403 RECENT_AUTH_REQUIRED when it is not', async () => {
    const w = world();
    expect(() => w.service.requireRecentAuthentication(principal(), NOW)).not.toThrow();
    expect(() => w.service.requireRecentAuthentication(principal(), NOW + 1000)).toThrow(expect.objectContaining({ entry: AuthErrors.RECENT_AUTH_REQUIRED }));
  });

  it('requireSession answers the bearer token’s session, and 403 SESSION_REQUIRED for an API key', async () => {
    const w = world();
    expect(w.service.requireSession(principal({ sessionId: 'session-7' }))).toBe('session-7');
    expect(() => w.service.requireSession(principal({ sessionId: null }))).toThrow(expect.objectContaining({ entry: AuthErrors.SESSION_REQUIRED }));
  });
});
