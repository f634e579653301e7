import type { EntityManager } from 'typeorm';
import { AppException, CommonErrors } from '@/common/errors';
import type { ClientInfo } from '@/common/http/decorators';
import type { AppConfig } from '@/config/app-config';
import { AccountErrors } from '@/modules/account/account.errors';
import type { AccountOwnershipService, Reclaimed } from '@/modules/account/account-ownership.service';
import type { ApiKey } from '@/modules/account/api-key.entity';
import type { ApiKeysService } from '@/modules/account/api-keys.service';
import type { AuditService } from '@/modules/audit/audit.service';
import type { AvatarService } from '@/modules/avatar/avatar.service';
import type { EventsService } from '@/modules/events/events.service';
import type { User } from '@/modules/users/user.entity';
import { UsersErrors } from '@/modules/users/users.errors';
import type { UsersService } from '@/modules/users/users.service';
import type { VerificationCodesService } from '@/modules/verification/codes/verification-codes.service';
import { VerificationErrors } from '@/modules/verification/verification.errors';
import { person, PERSON_PASSWORD, PERSON_PHONE } from '../../../test/factories/user-rows';
import { storeWithClock } from '../../../test/helpers/store-with-clock';
import { AccountService } from './account.service';
import { AuthService } from './auth.service';
import type { ChangeEmailDto, ChangePhoneDto, DeleteAccountDto, PasswordResetDto } from './dto/account.dto';
import { LoginThrottle } from './login-throttle.service';
import type { Principal } from './principal';
import type { SessionsService } from './sessions/sessions.service';

// Credential changes and deletion, one rule at a time: the real AuthService (its counted password
// check and its recent-authentication rule) over the real LoginThrottle on the in-process store with
// a clock moved by hand; fakes for the rest write what they are asked into one log, so what happens
// inside the transaction, what after it, and in which order, is pinned. The e2e specs
// (test/e2e/account, test/security/*) prove the same over HTTP on both databases.

const RIGHT = PERSON_PASSWORD;
const NEW = 'a new long password';
const PHONE = PERSON_PHONE;
const LOCK_AFTER = 3;
const RECENT_AUTH_SECONDS = 600;
const client: ClientInfo = { ip: '203.0.113.7', userAgent: 'spec', requestId: 'req-1' };
const TX = { name: 'the transaction' } as unknown as EntityManager;
const RECLAIMED: Reclaimed = { revokedSessions: ['s-reclaimed'], removedPhone: PHONE };
const REVOKED = ['s-other-1', 's-other-2'];

function world(over: Partial<User> = {}, options: { passwordResetEnabled?: boolean } = {}) {
  const { clock, kv } = storeWithClock({ start: 1_800_000_000_000 });
  const log: string[] = [];
  const audits: { record: Record<string, unknown>; tx: EntityManager | undefined }[] = [];
  const emitted: { tx: EntityManager; type: string; data: unknown }[] = [];
  const accounts: User[] = [person(over)];
  const config = {
    passwordResetEnabled: options.passwordResetEnabled ?? true,
    login: { captchaAlways: false, captchaAfterFailures: 3, lockAfterFailures: LOCK_AFTER, lockSeconds: 900, maxFailuresPerHour: 100, perIpPerMinute: 1000 },
    sessions: { recentAuthSeconds: RECENT_AUTH_SECONDS },
  } as AppConfig;
  const throttle = new LoginThrottle(kv, config);
  const find = (test: (user: User) => boolean) => accounts.find(test) ?? null;
  const rows: User[] = [];

  const users = {
    getById: async (id: string) => {
      const user = find((candidate) => candidate.id === id);
      if (!user) throw new AppException(UsersErrors.USER_NOT_FOUND);
      return user;
    },
    findByEmail: async (key: string) => {
      log.push(`findByEmail:${key}`);
      return find((user) => user.emailKey === key);
    },
    findByPhone: async (phone: string) => {
      log.push(`findByPhone:${phone}`);
      return find((user) => user.phone === phone);
    },
    verifyPassword: async (user: User | null, password: string) => {
      log.push('compare');
      return user !== null && user.passwordHash === `hash:${password}`;
    },
    assertPasswordAcceptable: jest.fn((password: string) => {
      if (password.length < 8) throw new AppException(UsersErrors.PASSWORD_TOO_SHORT);
    }),
    hashPassword: async (password: string) => `hash:${password}`,
    update: jest.fn(async (id: string, changes: Partial<User>, alsoWrite?: (tx: EntityManager) => Promise<void>) => {
      log.push('update');
      await alsoWrite?.(TX);
      log.push('commit');
      const index = accounts.findIndex((user) => user.id === id);
      // The row as read again after the write: a new object.
      const row = { ...accounts[index], ...changes } as User;
      accounts[index] = row;
      rows.push(row);
      return row;
    }),
    delete: jest.fn(async (id: string, beforeDelete?: (tx: EntityManager) => Promise<void>) => {
      log.push(`delete:${id}`);
      await beforeDelete?.(TX);
      log.push('commit');
      accounts.splice(
        accounts.findIndex((user) => user.id === id),
        1,
      );
    }),
  };
  const sessions = {
    revokeAllForUser: jest.fn(async (userId: string, reason: string, keep: string | undefined, tx: EntityManager) => {
      log.push(`revokeAll:${userId}:${reason}:${keep ?? '-'}:${tx === TX ? 'tx' : 'no tx'}`);
      return REVOKED;
    }),
    markRevoked: jest.fn(async (ids: string[]) => {
      log.push(`markRevoked:${ids.join(',')}`);
    }),
  };
  const keys: ApiKey[] = [];
  let keyDeleted = true;
  const apiKeys = {
    deleteAllForUser: jest.fn(async (userId: string, tx: EntityManager) => {
      log.push(`deleteKeys:${userId}:${tx === TX ? 'tx' : 'no tx'}`);
      return 2;
    }),
    create: jest.fn(async (userId: string, input: { name: string; scopes: ApiKey['scopes']; expiresInDays: number }, alsoWrite?: (tx: EntityManager, key: ApiKey) => Promise<void>, _replacing?: { name: string }) => {
      const key = {
        id: `key-${keys.length + 1}`,
        userId,
        name: input.name,
        keyHash: 'the stored hash',
        scopes: input.scopes,
        expiresAt: new Date(clock.now() + input.expiresInDays * 86_400_000),
        lastUsedAt: null,
        createdAt: new Date(clock.now()),
      } as ApiKey;
      keys.push(key);
      await alsoWrite?.(TX, key);
      return { key, secret: `uc_secret_${key.id}` };
    }),
    delete: jest.fn(async (_userId: string, _id: string, alsoWrite?: (tx: EntityManager) => Promise<void>) => {
      if (keyDeleted) await alsoWrite?.(TX);
      return keyDeleted;
    }),
  };
  const audit = {
    record: async (record: Record<string, unknown>, tx?: EntityManager) => {
      log.push(`audit:${String(record.type)}:${String(record.outcome)}`);
      audits.push({ record, tx });
    },
  };
  const events = {
    emit: async (tx: EntityManager, type: string, data: unknown) => {
      log.push(`event:${type}`);
      emitted.push({ tx, type, data });
    },
  };
  const avatars = { removeFor: jest.fn(async () => log.push('avatars')) };
  let codeError: Error | null = null;
  const codes = {
    consume: jest.fn(async (request: { channel: string; destination: string; purpose: string }, code: string | undefined) => {
      log.push(`consume:${request.channel}:${request.destination}:${request.purpose}:${code}`);
      if (codeError) throw codeError;
    }),
    send: jest.fn(async () => ({ expiresAt: 'then', resendAfter: 60 })),
    forget: jest.fn(async () => {
      log.push('forget');
    }),
    notify: jest.fn(async () => {
      log.push('notify');
    }),
  };
  let stillHeld = true;
  const ownership = {
    hasUnprovenEmail: (user: Pick<User, 'emailKey' | 'emailVerified'>) => !!user.emailKey && !user.emailVerified,
    assertMayAddSignInMethod: (user: Pick<User, 'emailKey' | 'emailVerified'>) => {
      log.push('mayAdd');
      if (!!user.emailKey && !user.emailVerified) throw new AppException(AccountErrors.EMAIL_NOT_VERIFIED);
    },
    assertStillHeldIn: jest.fn(async (tx: EntityManager) => {
      log.push(`stillHeld:${tx === TX ? 'tx' : 'no tx'}`);
      if (!stillHeld) throw new AppException(CommonErrors.UNAUTHENTICATED);
    }),
    reclaimedColumns: { phone: null, emailVerified: true, mfaMethods: null } as Partial<User>,
    reclaimIn: jest.fn(async (_user: User, tx: EntityManager) => {
      log.push(`reclaim:${tx === TX ? 'tx' : 'no tx'}`);
      return RECLAIMED;
    }),
    afterReclaim: jest.fn(async () => {
      log.push('afterReclaim');
    }),
  };
  const auth = new AuthService(users as unknown as UsersService, {} as never, {} as never, throttle, {} as never, audit as unknown as AuditService, {} as never, {} as never, config, {} as never, {} as never);
  const service = new AccountService(
    users as unknown as UsersService,
    sessions as unknown as SessionsService,
    auth,
    apiKeys as unknown as ApiKeysService,
    audit as unknown as AuditService,
    events as unknown as EventsService,
    clock,
    avatars as unknown as AvatarService,
    codes as unknown as VerificationCodesService,
    throttle,
    ownership as unknown as AccountOwnershipService,
    config,
  );
  /** A bearer principal for user-1, signed in `secondsAgo` ago, with this amr. */
  const principal = (over: Partial<Principal> = {}): Principal => ({ userId: 'user-1', role: 'normal_user', sessionId: 'session-1', tokenId: 'jti', authTime: clock.now() / 1000, via: 'bearer', amr: ['pwd'], ...over });
  return {
    service,
    auth,
    clock,
    kv,
    log,
    audits,
    emitted,
    accounts,
    rows,
    users,
    sessions,
    apiKeys,
    keys,
    avatars,
    codes,
    ownership,
    principal,
    failCode: (error: Error | null) => (codeError = error),
    loseSession: () => (stillHeld = false),
    noSuchKey: () => (keyDeleted = false),
  };
}

type World = ReturnType<typeof world>;

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppException) return error.entry.code;
    throw error;
  }
  throw new Error('expected a refusal');
}

const entry = (type: string, outcome: string, tx: EntityManager | undefined, detail?: Record<string, unknown>) => ({
  record: { type, outcome, userId: 'user-1', actorId: 'user-1', client, ...(detail ? { detail } : {}) },
  tx,
});

/** Locks user-1 by LOCK_AFTER wrong current passwords. */
async function lock(w: World) {
  for (let i = 0; i < LOCK_AFTER; i++) await w.auth.currentPasswordMatches(w.accounts[0], 'wrong', client);
  expect(await refusal(w.auth.currentPasswordMatches(w.accounts[0], RIGHT, client))).toBe('TOO_MANY_REQUESTS');
}

describe('AccountService.changePassword', () => {
  it('writes the new hash, ends the other sessions and every API key, audits and announces, all in one transaction; then marks, forgets codes and tells the owner', async () => {
    const w = world();
    await w.service.changePassword(w.principal(), RIGHT, NEW, client, 'zh-CN');
    expect(w.users.update).toHaveBeenCalledWith('user-1', { passwordHash: `hash:${NEW}` }, expect.any(Function));
    expect(w.log).toStrictEqual([
      'compare',
      'update',
      'revokeAll:user-1:password_changed:session-1:tx',
      'deleteKeys:user-1:tx',
      'audit:password_changed:success',
      'event:user.password_changed',
      'commit',
      `markRevoked:${REVOKED.join(',')}`,
      'forget',
      'notify',
    ]);
    expect(w.audits).toStrictEqual([entry('password_changed', 'success', TX)]);
    expect(w.emitted).toStrictEqual([{ tx: TX, type: 'user.password_changed', data: { userId: 'user-1', via: 'change' } }]);
    expect(w.codes.forget).toHaveBeenCalledWith([
      { channel: 'email', destination: 'alice@example.com' },
      { channel: 'sms', destination: PHONE },
    ]);
    expect(w.codes.notify).toHaveBeenCalledWith({ channel: 'email', destination: 'alice@example.com' }, 'password_changed', 'zh-CN');
    expect(w.users.assertPasswordAcceptable).toHaveBeenCalledWith(NEW, { username: 'alice_01', email: 'Alice@Example.com' });
  });

  it('keeps no session when the caller used an API key; tells the owner in English unless asked otherwise', async () => {
    const w = world();
    await w.service.changePassword(w.principal({ sessionId: null, via: 'api-key' }), RIGHT, NEW, client);
    expect(w.log).toContain('revokeAll:user-1:password_changed:-:tx');
    expect(w.codes.notify).toHaveBeenCalledWith(expect.anything(), 'password_changed', 'en');
  });

  it('a wrong current password: counted towards the lock, audited as a failure (wrong_password), 400 PASSWORD_INCORRECT, nothing written', async () => {
    const w = world();
    expect(await refusal(w.service.changePassword(w.principal(), 'wrong', NEW, client))).toBe('PASSWORD_INCORRECT');
    expect(w.audits).toStrictEqual([entry('password_changed', 'failure', undefined, { reason: 'wrong_password' })]);
    expect(w.users.update).not.toHaveBeenCalled();
    for (let i = 1; i < LOCK_AFTER; i++) await refusal(w.service.changePassword(w.principal(), 'wrong', NEW, client));
    expect(await refusal(w.service.changePassword(w.principal(), RIGHT, NEW, client))).toBe('TOO_MANY_REQUESTS');
  });

  it('the same password again (after NFKC) is 400 PASSWORD_UNCHANGED; an unacceptable one is refused by the policy; neither writes', async () => {
    const w = world();
    expect(await refusal(w.service.changePassword(w.principal(), RIGHT, 'ｒｉｇｈｔ-password', client))).toBe('PASSWORD_UNCHANGED');
    expect(w.users.assertPasswordAcceptable).not.toHaveBeenCalled();
    expect(await refusal(w.service.changePassword(w.principal(), RIGHT, 'short', client))).toBe('PASSWORD_TOO_SHORT');
    expect(w.users.update).not.toHaveBeenCalled();
    expect(w.codes.forget).not.toHaveBeenCalled();
  });

  it('forgets the codes of the contacts the account has, and tells the first of them', async () => {
    const phoneOnly = world({ email: null, emailKey: null });
    await phoneOnly.service.changePassword(phoneOnly.principal(), RIGHT, NEW, client);
    expect(phoneOnly.codes.forget).toHaveBeenCalledWith([{ channel: 'sms', destination: PHONE }]);
    expect(phoneOnly.codes.notify).toHaveBeenCalledWith({ channel: 'sms', destination: PHONE }, 'password_changed', 'en');
    const emailOnly = world({ phone: null });
    await emailOnly.service.changePassword(emailOnly.principal(), RIGHT, NEW, client);
    expect(emailOnly.codes.forget).toHaveBeenCalledWith([{ channel: 'email', destination: 'alice@example.com' }]);
    const neither = world({ phone: null, email: null, emailKey: null });
    await neither.service.changePassword(neither.principal(), RIGHT, NEW, client);
    expect(neither.codes.forget).toHaveBeenCalledWith([]);
    expect(neither.codes.notify).not.toHaveBeenCalled();
  });
});

describe('AccountService.resetPassword', () => {
  const reset = (over: Partial<PasswordResetDto> = {}) => ({ channel: 'email', email: ' Alice@Example.COM ', code: '123456', newPassword: NEW, ...over }) as PasswordResetDto;

  it('spends the code first, then sets the password, ends every session and key, audits and announces in one transaction; lifts the lock; tells the owner', async () => {
    const w = world();
    await lock(w);
    w.log.length = 0;
    w.audits.length = 0;
    await w.service.resetPassword(reset(), client, 'zh-CN');
    expect(w.users.update).toHaveBeenCalledWith('user-1', { passwordHash: `hash:${NEW}` }, expect.any(Function));
    expect(w.log).toStrictEqual([
      'consume:email:alice@example.com:reset_password:123456',
      'findByEmail:alice@example.com',
      'update',
      'revokeAll:user-1:password_reset:-:tx',
      'deleteKeys:user-1:tx',
      'audit:password_reset:success',
      'event:user.password_changed',
      'commit',
      `markRevoked:${REVOKED.join(',')}`,
      'forget',
      'notify',
    ]);
    expect(w.audits).toStrictEqual([entry('password_reset', 'success', TX, { channel: 'email' })]);
    expect(w.emitted).toStrictEqual([{ tx: TX, type: 'user.password_changed', data: { userId: 'user-1', via: 'reset' } }]);
    expect(w.codes.notify).toHaveBeenCalledWith({ channel: 'email', destination: 'alice@example.com' }, 'password_reset', 'zh-CN');
    expect(w.users.assertPasswordAcceptable).toHaveBeenCalledWith(NEW, { username: 'alice_01', email: 'Alice@Example.com' });
    expect(await w.auth.currentPasswordMatches(w.accounts[0], NEW, client)).toBe(true);
    expect(w.ownership.reclaimIn).not.toHaveBeenCalled();
  });

  it('by SMS: the normalised number’s code, the account holding that number', async () => {
    const w = world({ emailVerified: false });
    await w.service.resetPassword(reset({ channel: 'sms', email: undefined, phone: '138 0013 8000' }), client, 'en');
    expect(w.log.slice(0, 2)).toStrictEqual([`consume:sms:${PHONE}:reset_password:123456`, `findByPhone:${PHONE}`]);
    // An unproven email is not reclaimed by an SMS code.
    expect(w.ownership.reclaimIn).not.toHaveBeenCalled();
    expect(w.audits[0]).toStrictEqual(entry('password_reset', 'success', TX, { channel: 'sms' }));
  });

  it('proving an unproven email reclaims the account: its columns in the same write, the reclaim in the transaction instead of the plain revocation, its after-work after', async () => {
    const w = world({ emailVerified: false });
    await w.service.resetPassword(reset(), client, 'zh-CN');
    expect(w.users.update).toHaveBeenCalledWith('user-1', { passwordHash: `hash:${NEW}`, phone: null, emailVerified: true, mfaMethods: null }, expect.any(Function));
    expect(w.ownership.reclaimIn).toHaveBeenCalledWith(expect.objectContaining({ id: 'user-1' }), TX, client, 'password_reset');
    expect(w.ownership.afterReclaim).toHaveBeenCalledWith(expect.objectContaining({ id: 'user-1' }), RECLAIMED, 'zh-CN');
    expect(w.log).toStrictEqual(['consume:email:alice@example.com:reset_password:123456', 'findByEmail:alice@example.com', 'update', 'reclaim:tx', 'audit:password_reset:success', 'event:user.password_changed', 'commit', 'afterReclaim', 'forget', 'notify']);
  });

  it('an address with no account answers as a wrong code (CODE_INVALID), after the code is tried', async () => {
    const w = world();
    expect(await refusal(w.service.resetPassword(reset({ email: 'nobody@example.com' }), client, 'en'))).toBe('CODE_INVALID');
    expect(w.codes.consume).toHaveBeenCalled();
    expect(w.users.update).not.toHaveBeenCalled();
  });

  it('a wrong code is the code’s own refusal, and nothing is looked up or written', async () => {
    const w = world();
    w.failCode(new AppException(VerificationErrors.CODE_INVALID));
    expect(await refusal(w.service.resetPassword(reset(), client, 'en'))).toBe('CODE_INVALID');
    expect(w.log).toStrictEqual(['consume:email:alice@example.com:reset_password:123456']);
  });

  it('refuses an unacceptable new password before writing', async () => {
    const w = world();
    expect(await refusal(w.service.resetPassword(reset({ newPassword: 'short' }), client, 'en'))).toBe('PASSWORD_TOO_SHORT');
    expect(w.users.update).not.toHaveBeenCalled();
  });

  it('the address the channel needs: VALIDATION_FAILED naming the field, before any code is spent', async () => {
    const w = world();
    await expect(w.service.resetPassword(reset({ email: undefined }), client, 'en')).rejects.toMatchObject({
      entry: CommonErrors.VALIDATION_FAILED,
      extra: { details: [{ field: 'email', message: 'email is required when channel is email' }] },
    });
    await expect(w.service.resetPassword(reset({ channel: 'sms', phone: undefined }), client, 'en')).rejects.toMatchObject({
      extra: { details: [{ field: 'phone', message: 'phone is required when channel is sms' }] },
    });
    await expect(w.service.resetPassword(reset({ channel: 'sms', phone: '12345' }), client, 'en')).rejects.toMatchObject({
      extra: { details: [{ field: 'phone', message: 'phone must be an E.164 number or an 11-digit Chinese mobile number' }] },
    });
    expect(w.codes.consume).not.toHaveBeenCalled();
  });

  it('PASSWORD_RESET_ENABLED=false: 403 PASSWORD_RESET_DISABLED, no code spent', async () => {
    const w = world({}, { passwordResetEnabled: false });
    expect(await refusal(w.service.resetPassword(reset(), client, 'en'))).toBe('PASSWORD_RESET_DISABLED');
    expect(w.codes.consume).not.toHaveBeenCalled();
  });
});

describe('AccountService: proving the account’s email', () => {
  it('sends a verify_email code to the account’s unproven address, and answers the ticket', async () => {
    const w = world({ emailVerified: false });
    expect(await w.service.sendEmailVerificationCode(w.principal(), client, 'zh-CN')).toStrictEqual({ expiresAt: 'then', resendAfter: 60 });
    expect(w.codes.send).toHaveBeenCalledWith({ channel: 'email', destination: 'alice@example.com', purpose: 'verify_email', ip: client.ip, language: 'zh-CN', deliver: true });
  });

  it('409 EMAIL_VERIFICATION_NOT_NEEDED for a proven address or none, for sending and verifying', async () => {
    for (const over of [{}, { email: null, emailKey: null, emailVerified: false }]) {
      const w = world(over);
      expect(await refusal(w.service.sendEmailVerificationCode(w.principal(), client, 'en'))).toBe('EMAIL_VERIFICATION_NOT_NEEDED');
      expect(await refusal(w.service.verifyEmail(w.principal(), '123456', client, 'en'))).toBe('EMAIL_VERIFICATION_NOT_NEEDED');
      expect(w.codes.send).not.toHaveBeenCalled();
      expect(w.codes.consume).not.toHaveBeenCalled();
    }
  });

  it('the code reclaims the account in one transaction, keeping the caller’s session; answers the row as written', async () => {
    const w = world({ emailVerified: false });
    const answer = await w.service.verifyEmail(w.principal(), '123456', client, 'zh-CN');
    expect(answer).toBe(w.rows[0]);
    expect(w.users.update).toHaveBeenCalledWith('user-1', { phone: null, emailVerified: true, mfaMethods: null }, expect.any(Function));
    expect(w.ownership.reclaimIn).toHaveBeenCalledWith(expect.objectContaining({ id: 'user-1' }), TX, client, 'email_verification', 'session-1');
    expect(w.ownership.afterReclaim).toHaveBeenCalledWith(expect.objectContaining({ id: 'user-1' }), RECLAIMED, 'zh-CN');
    expect(w.log).toStrictEqual(['consume:email:alice@example.com:verify_email:123456', 'update', 'reclaim:tx', 'audit:email_verified:success', 'commit', 'afterReclaim']);
    expect(w.audits).toStrictEqual([entry('email_verified', 'success', TX)]);
  });

  it('through an API key no session is kept; a wrong code writes nothing', async () => {
    const w = world({ emailVerified: false });
    await w.service.verifyEmail(w.principal({ sessionId: null, via: 'api-key' }), '123456', client, 'en');
    expect(w.ownership.reclaimIn).toHaveBeenCalledWith(expect.anything(), TX, client, 'email_verification', undefined);
    const wrong = world({ emailVerified: false });
    wrong.failCode(new AppException(VerificationErrors.CODE_INVALID));
    expect(await refusal(wrong.service.verifyEmail(wrong.principal(), '000000', client, 'en'))).toBe('CODE_INVALID');
    expect(wrong.users.update).not.toHaveBeenCalled();
  });
});

describe('AccountService: the check behind every ⏱ route (contact changes, API keys)', () => {
  const change = (over: Partial<ChangeEmailDto> = {}) => ({ email: ' Bob@Example.com ', code: '123456', ...over }) as ChangeEmailDto;

  it('without MFA the current password will do, counted; a wrong one is 400 PASSWORD_INCORRECT', async () => {
    const w = world();
    w.clock.advance((RECENT_AUTH_SECONDS + 1) * 1000);
    const old = w.principal({ authTime: (w.clock.now() - (RECENT_AUTH_SECONDS + 1) * 1000) / 1000 });
    expect(await refusal(w.service.changeEmail(old, change(), client))).toBe('RECENT_AUTH_REQUIRED');
    expect(await refusal(w.service.changeEmail(old, change({ password: 'wrong' }), client))).toBe('PASSWORD_INCORRECT');
    expect(w.codes.consume).not.toHaveBeenCalled();
    await w.service.changeEmail(old, change({ password: RIGHT }), client);
    expect(w.log.filter((line) => line === 'compare')).toHaveLength(2);
    expect(w.users.update).toHaveBeenCalled();
  });

  it('a sign-in within RECENT_AUTH_SECONDS will do without the password, to the second', async () => {
    const w = world();
    const signedIn = w.principal();
    w.clock.advance(RECENT_AUTH_SECONDS * 1000);
    await w.service.changeEmail(signedIn, change(), client);
    expect(w.log).not.toContain('compare');
    w.clock.advance(1000);
    expect(await refusal(w.service.changeEmail(signedIn, change(), client))).toBe('RECENT_AUTH_REQUIRED');
  });

  it('with MFA on the account the password is not enough: the recent sign-in must have included the second factor', async () => {
    const w = world({ mfaMethods: 'totp' });
    expect(await refusal(w.service.changeEmail(w.principal(), change({ password: RIGHT }), client))).toBe('RECENT_AUTH_REQUIRED');
    expect(w.log).not.toContain('compare');
    await w.service.changeEmail(w.principal({ amr: ['pwd', 'mfa'] }), change({ password: 'ignored' }), client);
    expect(w.users.update).toHaveBeenCalled();
  });
});

describe('AccountService.changeEmail', () => {
  const change = (over: Partial<ChangeEmailDto> = {}) => ({ email: ' Bob@Example.com ', code: '123456', ...over }) as ChangeEmailDto;

  it('spends the new address’s change_email code, writes it as proven with its audit and event, tells the OLD address, answers the row as written', async () => {
    const w = world();
    const answer = await w.service.changeEmail(w.principal(), change(), client, 'zh-CN');
    expect(answer).toBe(w.rows[0]);
    expect(w.users.update).toHaveBeenCalledWith('user-1', { email: 'Bob@Example.com', emailKey: 'bob@example.com', emailVerified: true }, expect.any(Function));
    expect(w.log).toStrictEqual(['consume:email:bob@example.com:change_email:123456', 'findByEmail:bob@example.com', 'update', 'audit:email_changed:success', 'event:user.email_changed', 'commit', 'notify']);
    expect(w.audits).toStrictEqual([entry('email_changed', 'success', TX)]);
    expect(w.emitted).toStrictEqual([{ tx: TX, type: 'user.email_changed', data: { userId: 'user-1' } }]);
    expect(w.codes.notify).toHaveBeenCalledWith({ channel: 'email', destination: 'alice@example.com' }, 'email_changed', 'zh-CN');
  });

  it('an account without an email gets one and nobody is told; the notice is in English by default', async () => {
    const w = world({ email: null, emailKey: null });
    await w.service.changeEmail(w.principal(), change(), client);
    expect(w.codes.notify).not.toHaveBeenCalled();
    const other = world();
    await other.service.changeEmail(other.principal(), change(), client);
    expect(other.codes.notify).toHaveBeenCalledWith(expect.anything(), 'email_changed', 'en');
  });

  it('a taken address answers 409 EMAIL_TAKEN only after its code was spent (a taken address never gets one)', async () => {
    const w = world();
    w.accounts.push(person({ id: 'user-2', emailKey: 'bob@example.com' }));
    expect(await refusal(w.service.changeEmail(w.principal(), change(), client))).toBe('EMAIL_TAKEN');
    expect(w.log).toStrictEqual(['consume:email:bob@example.com:change_email:123456', 'findByEmail:bob@example.com']);
    expect(w.users.update).not.toHaveBeenCalled();
  });
});

describe('AccountService.changePhone', () => {
  const change = (over: Partial<ChangePhoneDto> = {}) => ({ phone: '139 0013 9000', code: '123456', ...over }) as ChangePhoneDto;
  const NEW_PHONE = '+8613900139000';

  it('spends the new number’s change_phone code, writes it checking the session still holds the account, audits and announces, tells the OLD number', async () => {
    const w = world();
    const answer = await w.service.changePhone(w.principal(), change(), client, 'zh-CN');
    expect(answer).toBe(w.rows[0]);
    expect(w.users.update).toHaveBeenCalledWith('user-1', { phone: NEW_PHONE }, expect.any(Function));
    expect(w.ownership.assertStillHeldIn).toHaveBeenCalledWith(TX, expect.objectContaining({ userId: 'user-1', sessionId: 'session-1' }));
    expect(w.log).toStrictEqual(['mayAdd', `consume:sms:${NEW_PHONE}:change_phone:123456`, `findByPhone:${NEW_PHONE}`, 'update', 'stillHeld:tx', 'audit:phone_changed:success', 'event:user.phone_changed', 'commit', 'notify']);
    expect(w.audits).toStrictEqual([entry('phone_changed', 'success', TX)]);
    expect(w.emitted).toStrictEqual([{ tx: TX, type: 'user.phone_changed', data: { userId: 'user-1' } }]);
    expect(w.codes.notify).toHaveBeenCalledWith({ channel: 'sms', destination: PHONE }, 'phone_changed', 'zh-CN');
  });

  it('an account without a phone gets one and nobody is told; English by default', async () => {
    const w = world({ phone: null });
    await w.service.changePhone(w.principal(), change(), client);
    expect(w.codes.notify).not.toHaveBeenCalled();
    const other = world();
    await other.service.changePhone(other.principal(), change(), client);
    expect(other.codes.notify).toHaveBeenCalledWith(expect.anything(), 'phone_changed', 'en');
  });

  it('refuses: an unproven email (403 EMAIL_NOT_VERIFIED), no phone number (VALIDATION_FAILED), both before a code is spent; a taken number after', async () => {
    const unproven = world({ emailVerified: false });
    expect(await refusal(unproven.service.changePhone(unproven.principal(), change(), client))).toBe('EMAIL_NOT_VERIFIED');
    expect(unproven.codes.consume).not.toHaveBeenCalled();
    const w = world();
    await expect(w.service.changePhone(w.principal(), change({ phone: '12345' }), client)).rejects.toMatchObject({
      entry: CommonErrors.VALIDATION_FAILED,
      extra: { details: [{ field: 'phone', message: 'phone must be an E.164 number or an 11-digit Chinese mobile number' }] },
    });
    expect(w.codes.consume).not.toHaveBeenCalled();
    w.accounts.push(person({ id: 'user-2', phone: NEW_PHONE }));
    expect(await refusal(w.service.changePhone(w.principal(), change(), client))).toBe('PHONE_TAKEN');
    expect(w.codes.consume).toHaveBeenCalled();
    expect(w.users.update).not.toHaveBeenCalled();
  });

  it('a session a reclaim ended meanwhile is refused inside the write, and nothing is audited', async () => {
    const w = world();
    w.loseSession();
    expect(await refusal(w.service.changePhone(w.principal(), change(), client))).toBe('UNAUTHENTICATED');
    expect(w.audits).toStrictEqual([]);
    expect(w.codes.notify).not.toHaveBeenCalled();
  });
});

describe('AccountService.deleteAccount', () => {
  const afterDeletion = ['delete:user-1', 'revokeAll:user-1:deleted:-:tx', 'audit:account_deleted:success', 'event:user.deleted', 'commit', `markRevoked:${REVOKED.join(',')}`, 'avatars'];

  it('an account with a password: the password (counted), then the row, the sessions, the audit and the event in one transaction; then the markers and the avatar', async () => {
    const w = world();
    await w.service.deleteAccount(w.principal(), { password: RIGHT, code: '123456' } as DeleteAccountDto, client);
    expect(w.log).toStrictEqual(['compare', ...afterDeletion]);
    expect(w.audits).toStrictEqual([entry('account_deleted', 'success', TX)]);
    expect(w.emitted).toStrictEqual([{ tx: TX, type: 'user.deleted', data: { userId: 'user-1' } }]);
    expect(w.avatars.removeFor).toHaveBeenCalledWith(expect.objectContaining({ id: 'user-1' }));
    expect(w.codes.consume).not.toHaveBeenCalled();
  });

  it('a wrong or missing password: audited as a failure, 400 PASSWORD_INCORRECT, nothing deleted; wrong ones count towards the lock', async () => {
    const w = world();
    expect(await refusal(w.service.deleteAccount(w.principal(), {} as DeleteAccountDto, client))).toBe('PASSWORD_INCORRECT');
    expect(w.log).toStrictEqual(['audit:account_deleted:failure']);
    for (let i = 0; i < LOCK_AFTER; i++) expect(await refusal(w.service.deleteAccount(w.principal(), { password: 'wrong' } as DeleteAccountDto, client))).toBe('PASSWORD_INCORRECT');
    expect(w.audits[0]).toStrictEqual(entry('account_deleted', 'failure', undefined));
    expect(await refusal(w.service.deleteAccount(w.principal(), { password: RIGHT } as DeleteAccountDto, client))).toBe('TOO_MANY_REQUESTS');
    expect(w.users.delete).not.toHaveBeenCalled();
  });

  it('a password-less phone account proves itself with a login code sent to its phone; without one, 403 FORBIDDEN', async () => {
    const w = world({ passwordHash: null });
    expect(await refusal(w.service.deleteAccount(w.principal(), { password: RIGHT } as DeleteAccountDto, client))).toBe('FORBIDDEN');
    expect(w.audits).toStrictEqual([entry('account_deleted', 'failure', undefined)]);
    w.log.length = 0;
    await w.service.deleteAccount(w.principal(), { code: '123456' } as DeleteAccountDto, client);
    expect(w.log).toStrictEqual([`consume:sms:${PHONE}:login:123456`, ...afterDeletion]);
  });

  it('a wrong code is the code’s own refusal, and nothing is deleted', async () => {
    const w = world({ passwordHash: null });
    w.failCode(new AppException(VerificationErrors.CODE_INVALID));
    expect(await refusal(w.service.deleteAccount(w.principal(), { code: '000000' } as DeleteAccountDto, client))).toBe('CODE_INVALID');
    expect(w.users.delete).not.toHaveBeenCalled();
  });

  it('an account with neither password nor phone (another identity provider’s): a recent sign-in of a session, else 403 RECENT_AUTH_REQUIRED', async () => {
    const w = world({ passwordHash: null, phone: null });
    expect(await refusal(w.service.deleteAccount(w.principal({ sessionId: null, via: 'api-key' }), {} as DeleteAccountDto, client))).toBe('RECENT_AUTH_REQUIRED');
    const signedIn = w.principal();
    w.clock.advance((RECENT_AUTH_SECONDS + 1) * 1000);
    expect(await refusal(w.service.deleteAccount(signedIn, { code: '123456' } as DeleteAccountDto, client))).toBe('RECENT_AUTH_REQUIRED');
    expect(w.codes.consume).not.toHaveBeenCalled();
    expect(w.users.delete).not.toHaveBeenCalled();
    await w.service.deleteAccount(w.principal(), {} as DeleteAccountDto, client);
    expect(w.users.delete).toHaveBeenCalled();
  });

  it('such an account with a second factor needs it in the recent sign-in', async () => {
    const w = world({ passwordHash: null, phone: null, mfaMethods: 'totp' });
    expect(await refusal(w.service.deleteAccount(w.principal(), {} as DeleteAccountDto, client))).toBe('RECENT_AUTH_REQUIRED');
    await w.service.deleteAccount(w.principal({ amr: ['fed', 'mfa'] }), {} as DeleteAccountDto, client);
    expect(w.users.delete).toHaveBeenCalled();
  });
});

describe('AccountService: personal API keys', () => {
  it('creates a named, scoped key (⏱, 90 days by default), audited in its transaction; answers the secret once and never the row', async () => {
    const w = world();
    const answer = await w.service.createApiKey(w.principal(), { name: 'ci', scopes: ['profile:read'] }, client);
    expect(w.apiKeys.create).toHaveBeenCalledWith('user-1', { name: 'ci', scopes: ['profile:read'], expiresInDays: 90 }, expect.any(Function), undefined);
    const expiresAt = new Date(w.clock.now() + 90 * 86_400_000).toISOString();
    expect(answer).toStrictEqual({ id: 'key-1', name: 'ci', scopes: ['profile:read'], expiresAt, apiKey: 'uc_secret_key-1' });
    expect(w.log).toStrictEqual(['mayAdd', 'stillHeld:tx', 'audit:api_key_created:success']);
    expect(w.audits).toStrictEqual([entry('api_key_created', 'success', TX, { keyId: 'key-1', scopes: 'profile:read', expiresAt })]);
  });

  it('keeps the lifetime asked for, and lists several scopes space-separated in the audit', async () => {
    const w = world();
    await w.service.createApiKey(w.principal(), { name: 'ci', scopes: ['profile:read', 'profile:write'], expiresInDays: 7 }, client);
    expect(w.apiKeys.create.mock.calls[0][1]).toStrictEqual({ name: 'ci', scopes: ['profile:read', 'profile:write'], expiresInDays: 7 });
    expect(w.audits[0].record).toMatchObject({ detail: { scopes: 'profile:read profile:write' } });
  });

  it('the deprecated default key: profile:read + profile:write, named "default", replacing the previous "default"', async () => {
    const w = world();
    const answer = await w.service.createDefaultApiKey(w.principal(), client);
    expect(w.apiKeys.create).toHaveBeenCalledWith('user-1', { name: 'default', scopes: ['profile:read', 'profile:write'], expiresInDays: 90 }, expect.any(Function), { name: 'default' });
    expect(answer).toStrictEqual({ id: 'key-1', name: 'default', scopes: ['profile:read', 'profile:write'], expiresAt: new Date(w.clock.now() + 90 * 86_400_000).toISOString(), apiKey: 'uc_secret_key-1' });
  });

  it('needs a recent sign-in (a password is no substitute here, nor an API key) and a proven email', async () => {
    for (const create of [(w: World, p: Principal) => w.service.createApiKey(p, { name: 'ci', scopes: ['profile:read'] }, client), (w: World, p: Principal) => w.service.createDefaultApiKey(p, client)]) {
      const w = world();
      expect(await refusal(create(w, w.principal({ authTime: null, via: 'api-key', sessionId: null })))).toBe('RECENT_AUTH_REQUIRED');
      const unproven = world({ emailVerified: false });
      expect(await refusal(create(unproven, unproven.principal()))).toBe('EMAIL_NOT_VERIFIED');
      expect(w.apiKeys.create).not.toHaveBeenCalled();
      expect(unproven.apiKeys.create).not.toHaveBeenCalled();
    }
  });

  it('a session a reclaim ended meanwhile is refused inside the key’s write, nothing audited', async () => {
    const w = world();
    w.loseSession();
    expect(await refusal(w.service.createDefaultApiKey(w.principal(), client))).toBe('UNAUTHENTICATED');
    expect(w.audits).toStrictEqual([]);
  });

  it('deletes one of its own keys, audited in its transaction; 404 API_KEY_NOT_FOUND otherwise', async () => {
    const w = world();
    await w.service.deleteApiKey(w.principal(), 'key-7', client);
    expect(w.apiKeys.delete).toHaveBeenCalledWith('user-1', 'key-7', expect.any(Function));
    expect(w.audits).toStrictEqual([entry('api_key_deleted', 'success', TX, { keyId: 'key-7' })]);
    w.noSuchKey();
    expect(await refusal(w.service.deleteApiKey(w.principal(), 'key-8', client))).toBe('API_KEY_NOT_FOUND');
  });
});
