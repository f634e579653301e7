import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Clock } from '@/common/clock';
import { AppException, CommonErrors } from '@/common/errors';
import type { AppConfig } from '@/config/app-config';
import type { ApiKeyHolder, ApiKeysService } from '@/modules/account/api-keys.service';
import type { AuditService } from '@/modules/audit/audit.service';
import type { UsersService } from '@/modules/users/users.service';
import { GlobalAuthGuard } from './auth.guard';
import { AllowApiKey, Auth, Internal, Public, RecentAuth } from './decorators';
import type { InternalKeysService } from './internal-keys.service';
import type { JwtStrategy } from './jwt.strategy';
import type { Principal } from './principal';

// The one global guard, branch by branch, with the real decorators and fakes for what it asks
// (the e2e specs under test/security prove the same over HTTP; these are fast enough for mutation testing).

class Routes {
  @Public() open() {}
  @Internal('users:read') internal() {}
  plain() {}
  @Auth({ roles: ['admin'] }) adminOnly() {}
  @Auth({ roles: [] }) noRoles() {}
  @AllowApiKey('profile:read') @Auth() readable() {}
  @RecentAuth() @Auth() sensitive() {}
}

@Public()
class PublicRoutes {
  anything() {}
  @Auth() signedIn() {}
}

const NOW_MS = 1_800_000_000_000;
const RECENT_AUTH_SECONDS = 600;

function setup(users: Record<string, { role: string; status: string } | Error> = {}) {
  const principals: Record<string, Principal> = {};
  const keys: Record<string, ApiKeyHolder> = {};
  const audit = { record: jest.fn(async () => undefined) };
  const bearer = { authenticate: jest.fn(async (header: string | undefined) => (header ? (principals[header] ?? null) : null)) };
  const apiKeys = { authenticate: jest.fn(async (secret: string) => keys[secret] ?? null) };
  const internalKeys = {
    scopesOf: jest.fn((key: string | undefined) => (key === 'internal-secret' ? ['introspect', 'users:read'] : key === 'introspect-only' ? ['introspect'] : null)),
  };
  const getView = jest.fn(async (id: string) => {
    const user = users[id];
    if (user instanceof Error) throw user;
    if (!user) throw new AppException(CommonErrors.NOT_FOUND);
    return user;
  });
  const clock = new (class extends Clock {
    now() {
      return NOW_MS;
    }
  })();
  const guard = new GlobalAuthGuard(
    new Reflector(),
    apiKeys as unknown as ApiKeysService,
    internalKeys as unknown as InternalKeysService,
    { getView } as unknown as UsersService,
    bearer as unknown as JwtStrategy,
    audit as unknown as AuditService,
    clock,
    { sessions: { recentAuthSeconds: RECENT_AUTH_SECONDS } } as AppConfig,
  );
  return { guard, principals, keys, audit, bearer, apiKeys, internalKeys, getView };
}

type FakeRequest = { headers: Record<string, string | string[]>; routeOptions: { url?: string }; method: string; ip: string; id: string; socket: object; user?: Principal };

function call(guard: GlobalAuthGuard, handler: keyof Routes | 'anything' | 'signedIn', headers: FakeRequest['headers'] = {}, url: string | null = '/api/v1/users/me') {
  const owner = handler === 'anything' || handler === 'signedIn' ? PublicRoutes : Routes;
  const request: FakeRequest = { headers, routeOptions: { url: url ?? undefined }, method: 'GET', ip: '198.51.100.4', id: 'req-1', socket: {} };
  const context = {
    getHandler: () => (owner.prototype as unknown as Record<string, () => void>)[handler],
    getClass: () => owner,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
  const result = guard.canActivate(context).then(
    (value) => value,
    (error: unknown) => {
      if (error instanceof AppException) return error.entry.code;
      throw error;
    },
  );
  return { request, result };
}

const alice = (extra: Partial<Principal> = {}): Principal => ({ userId: 'u-alice', role: 'normal_user', sessionId: 's-1', tokenId: 't-1', authTime: NOW_MS / 1000 - 60, via: 'bearer', amr: ['pwd'], ...extra });

describe('GlobalAuthGuard', () => {
  it('lets a @Public() route through without asking for anything', async () => {
    const { guard, bearer, apiKeys, internalKeys } = setup();
    expect(await call(guard, 'open').result).toBe(true);
    expect(await call(guard, 'open', { 'x-api-key': 'nonsense', authorization: 'Bearer nonsense' }).result).toBe(true);
    expect(bearer.authenticate).not.toHaveBeenCalled();
    expect(apiKeys.authenticate).not.toHaveBeenCalled();
    expect(internalKeys.scopesOf).not.toHaveBeenCalled();
  });

  it("reads the handler's rule before its class's", async () => {
    const { guard, principals } = setup();
    expect(await call(guard, 'anything').result).toBe(true);
    expect(await call(guard, 'signedIn').result).toBe('UNAUTHENTICATED');
    principals['Bearer a'] = alice();
    expect(await call(guard, 'signedIn', { authorization: 'Bearer a' }).result).toBe(true);
  });

  it('an @Internal(scope) route needs a key from INTERNAL_API_KEYS that carries the scope, and nothing else passes', async () => {
    const { guard, principals, internalKeys } = setup();
    principals['Bearer a'] = alice();
    expect(await call(guard, 'internal', { 'x-api-key': 'internal-secret' }).result).toBe(true);
    expect(await call(guard, 'internal', { 'x-api-key': 'wrong' }).result).toBe('API_KEY_INVALID');
    expect(await call(guard, 'internal', { 'x-api-key': 'introspect-only' }).result).toBe('API_KEY_SCOPE');
    expect(await call(guard, 'internal', { authorization: 'Bearer a' }).result).toBe('API_KEY_INVALID');
    expect(await call(guard, 'internal', { 'x-api-key': ['internal-secret', 'internal-secret'] }).result).toBe('API_KEY_INVALID');
    expect(internalKeys.scopesOf).toHaveBeenLastCalledWith(undefined);
  });

  it('every other route needs a bearer token by default, and sets the principal it proves', async () => {
    const { guard, principals } = setup();
    expect(await call(guard, 'plain').result).toBe('UNAUTHENTICATED');
    expect(await call(guard, 'plain', { authorization: 'Bearer forged' }).result).toBe('UNAUTHENTICATED');
    principals['Bearer a'] = alice();
    const { request, result } = call(guard, 'plain', { authorization: 'Bearer a' });
    expect(await result).toBe(true);
    expect(request.user).toEqual(alice());
  });

  it('a personal API key passes only where the route allows its scope, as the key holder', async () => {
    const { guard, keys, audit } = setup();
    keys['uc_pk_good'] = { userId: 'u-alice', role: 'normal_user', keyId: 'k-1', scopes: ['profile:read'] };
    const { request, result } = call(guard, 'readable', { 'x-api-key': 'uc_pk_good' });
    expect(await result).toBe(true);
    expect(request.user).toEqual({ userId: 'u-alice', role: 'normal_user', sessionId: null, tokenId: null, authTime: null, via: 'api-key' });
    expect(audit.record).not.toHaveBeenCalled();
    expect(await call(guard, 'readable', { 'x-api-key': 'uc_pk_unknown' }).result).toBe('API_KEY_INVALID');
  });

  it('a key on a route that does not allow keys, or without the scope the route names, is refused and audited', async () => {
    const { guard, keys, audit } = setup();
    keys['uc_pk_write'] = { userId: 'u-alice', role: 'normal_user', keyId: 'k-2', scopes: ['profile:write'] };
    expect(await call(guard, 'readable', { 'x-api-key': 'uc_pk_write', 'user-agent': 'curl/8' }, '/api/v1/users/:id').result).toBe('API_KEY_SCOPE');
    expect(audit.record).toHaveBeenLastCalledWith({
      type: 'access_denied',
      outcome: 'denied',
      userId: 'u-alice',
      actorId: 'u-alice',
      client: { ip: '198.51.100.4', userAgent: 'curl/8', requestId: 'req-1' },
      detail: { route: 'GET /api/v1/users/:id', via: 'api-key', reason: 'api_key_scope', keyId: 'k-2' },
    });
    keys['uc_pk_all'] = { userId: 'u-alice', role: 'normal_user', keyId: 'k-3', scopes: ['profile:read', 'profile:write'] };
    expect(await call(guard, 'plain', { 'x-api-key': 'uc_pk_all' }).result).toBe('API_KEY_SCOPE');
    expect(audit.record).toHaveBeenCalledTimes(2);
  });

  it('with both a bearer token and a key, the bearer token decides', async () => {
    const { guard, principals, keys, apiKeys } = setup();
    principals['Bearer a'] = alice();
    keys['uc_pk_good'] = { userId: 'u-bob', role: 'admin', keyId: 'k-1', scopes: ['profile:read'] };
    const { request, result } = call(guard, 'plain', { authorization: 'Bearer a', 'x-api-key': 'uc_pk_good' });
    expect(await result).toBe(true);
    expect(request.user?.userId).toBe('u-alice');
    expect(apiKeys.authenticate).not.toHaveBeenCalled();
    expect(await call(guard, 'plain', { authorization: 'Bearer forged', 'x-api-key': 'uc_pk_good' }).result).toBe('UNAUTHENTICATED');
  });

  it('a token that must enrol a second factor works only on the enrolment routes', async () => {
    const { guard, principals } = setup();
    principals['Bearer e'] = alice({ enrolmentOnly: true });
    const on = (url: string | null) => call(guard, 'plain', { authorization: 'Bearer e' }, url).result;
    expect(await on('/api/v1/users/me')).toBe('MFA_NOT_ENROLLED');
    expect(await on(null)).toBe('MFA_NOT_ENROLLED');
    expect(await on('/api/v1/users/me/mfa')).toBe(true);
    expect(await on('/api/v1/users/me/mfa/totp/confirm')).toBe(true);
    expect(await on('/api/v1/users/me/passkeys')).toBe(true);
    expect(await on('/api/v1/users/me/passkeys/:id')).toBe(true);
    expect(await on('/api/v1/users/me/mfax')).toBe('MFA_NOT_ENROLLED');
    expect(await on('/api/v1/users/me/password')).toBe('MFA_NOT_ENROLLED');
    expect(await on('/api/v1/users/:id/mfa')).toBe('MFA_NOT_ENROLLED');
    principals['Bearer a'] = alice({ enrolmentOnly: false });
    expect(await call(guard, 'plain', { authorization: 'Bearer a' }).result).toBe(true);
  });

  it('a @RecentAuth() route needs a sign-in within RECENT_AUTH_SECONDS (with the second factor when the account has one)', async () => {
    const { guard, principals } = setup();
    principals['Bearer fresh'] = alice({ authTime: NOW_MS / 1000 - RECENT_AUTH_SECONDS });
    principals['Bearer stale'] = alice({ authTime: NOW_MS / 1000 - RECENT_AUTH_SECONDS - 1 });
    principals['Bearer no-mfa'] = alice({ mfaEnabled: true, amr: ['pwd'] });
    expect(await call(guard, 'sensitive', { authorization: 'Bearer fresh' }).result).toBe(true);
    expect(await call(guard, 'sensitive', { authorization: 'Bearer stale' }).result).toBe('RECENT_AUTH_REQUIRED');
    expect(await call(guard, 'sensitive', { authorization: 'Bearer no-mfa' }).result).toBe('RECENT_AUTH_REQUIRED');
    expect(await call(guard, 'plain', { authorization: 'Bearer stale' }).result).toBe(true);
  });

  it("a route with roles reads the account's current role and status, and audits a refusal", async () => {
    const { guard, principals, audit, getView } = setup({ 'u-admin': { role: 'admin', status: 'active' }, 'u-demoted': { role: 'normal_user', status: 'active' }, 'u-disabled': { role: 'admin', status: 'disabled' } });
    principals['Bearer admin'] = alice({ userId: 'u-admin', role: 'admin' });
    principals['Bearer demoted'] = alice({ userId: 'u-demoted', role: 'admin' });
    principals['Bearer disabled'] = alice({ userId: 'u-disabled', role: 'admin' });
    principals['Bearer gone'] = alice({ userId: 'u-gone', role: 'admin' });
    expect(await call(guard, 'adminOnly', { authorization: 'Bearer admin' }).result).toBe(true);
    expect(getView).toHaveBeenLastCalledWith('u-admin');
    expect(audit.record).not.toHaveBeenCalled();
    expect(await call(guard, 'adminOnly', { authorization: 'Bearer demoted' }, '/api/v1/admin/users').result).toBe('FORBIDDEN');
    expect(audit.record).toHaveBeenLastCalledWith(expect.objectContaining({ type: 'access_denied', outcome: 'denied', userId: 'u-demoted', detail: { route: 'GET /api/v1/admin/users', via: 'bearer' } }));
    expect(await call(guard, 'adminOnly', { authorization: 'Bearer disabled' }).result).toBe('FORBIDDEN');
    expect(await call(guard, 'adminOnly', { authorization: 'Bearer gone' }).result).toBe('FORBIDDEN');
    expect(audit.record).toHaveBeenCalledTimes(3);
  });

  it('a route without roles (or with an empty list) does not look the account up', async () => {
    const { guard, principals, getView } = setup();
    principals['Bearer a'] = alice();
    expect(await call(guard, 'plain', { authorization: 'Bearer a' }).result).toBe(true);
    expect(await call(guard, 'noRoles', { authorization: 'Bearer a' }).result).toBe(true);
    expect(getView).not.toHaveBeenCalled();
  });

  it('a failure to read the account is not taken for a missing account: it propagates', async () => {
    const { guard, principals } = setup({ 'u-admin': new Error('database down') });
    principals['Bearer admin'] = alice({ userId: 'u-admin', role: 'admin' });
    await expect(call(guard, 'adminOnly', { authorization: 'Bearer admin' }).result).rejects.toThrow('database down');
  });

  it('records a denial under the route template (no route known: an empty one)', async () => {
    const { guard, principals, audit } = setup({ 'u-demoted': { role: 'normal_user', status: 'active' } });
    principals['Bearer demoted'] = alice({ userId: 'u-demoted' });
    expect(await call(guard, 'adminOnly', { authorization: 'Bearer demoted' }, null).result).toBe('FORBIDDEN');
    expect(audit.record).toHaveBeenLastCalledWith(expect.objectContaining({ detail: { route: 'GET ', via: 'bearer' } }));
  });
});
