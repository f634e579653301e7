import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import type { ExecutionContext } from '@nestjs/common';
import { ACCESS_RULE, AllowApiKey, API_KEY_SCOPE_RULE, Auth, CurrentUser, Internal, Public, RECENT_AUTH, RecentAuth } from './decorators';
import type { Principal } from './principal';

// What each access decorator leaves on a route: the rule the global guard reads (auth.guard.spec.ts drives
// the guard with these same decorators), and what the OpenAPI document says: its security scheme and the
// error codes the route can answer.

class Routes {
  @Public() open() {}
  @Internal('users:read') internal() {}
  @Auth() signedIn() {}
  @Auth({ roles: ['admin'] }) adminOnly() {}
  @AllowApiKey('profile:read') @Auth() readable() {}
  @RecentAuth() @Auth() sensitive() {}
}

@Public()
class PublicController {}

const route = (name: keyof Routes) => Routes.prototype[name];
const security = (name: keyof Routes) => Reflect.getMetadata('swagger/apiSecurity', route(name)) as Record<string, string[]>[];
const documented = (name: keyof Routes) =>
  ((Reflect.getMetadata('uc:documented-errors', route(name)) ?? []) as { code: string; status: number }[]).map((entry) => `${entry.status} ${entry.code}`);
const statuses = (name: keyof Routes) => Object.keys((Reflect.getMetadata('swagger/apiResponse', route(name)) ?? {}) as object).sort();

describe('the access decorators', () => {
  it('keep their rules under their own keys, apart from Nest and Swagger metadata', () => {
    const keys = [ACCESS_RULE, API_KEY_SCOPE_RULE, RECENT_AUTH];
    for (const key of keys) expect(key).toMatch(/^uc:[a-z-]+$/);
    expect(new Set(keys).size).toBe(3);
  });

  it('@Public: a public rule, on a route or a whole controller, with nothing documented', () => {
    expect(Reflect.getMetadata(ACCESS_RULE, route('open'))).toStrictEqual({ kind: 'public' });
    expect(Reflect.getMetadata(ACCESS_RULE, PublicController)).toStrictEqual({ kind: 'public' });
    expect(security('open')).toBeUndefined();
    expect(statuses('open')).toStrictEqual([]);
  });

  it('@Internal(scope): an internal rule naming its scope, the internal key scheme, 401 API_KEY_INVALID and 403 API_KEY_SCOPE', () => {
    expect(Reflect.getMetadata(ACCESS_RULE, route('internal'))).toStrictEqual({ kind: 'internal', scope: 'users:read' });
    expect(security('internal')).toStrictEqual([{ 'internal-api-key': [] }]);
    expect(documented('internal')).toStrictEqual(['401 API_KEY_INVALID', '403 API_KEY_SCOPE']);
    expect(statuses('internal')).toStrictEqual(['401', '403']);
  });

  it('@Auth(): the signed-in rule, the bearer scheme, and 401 / 403 API_KEY_SCOPE; 403 FORBIDDEN only with roles', () => {
    expect(Reflect.getMetadata(ACCESS_RULE, route('signedIn'))).toStrictEqual({ kind: 'user', roles: undefined });
    expect(security('signedIn')).toStrictEqual([{ bearer: [] }]);
    expect(documented('signedIn')).toStrictEqual(['401 UNAUTHENTICATED', '401 API_KEY_INVALID', '403 API_KEY_SCOPE']);
    expect(statuses('signedIn')).toStrictEqual(['401', '403']);

    expect(Reflect.getMetadata(ACCESS_RULE, route('adminOnly'))).toStrictEqual({ kind: 'user', roles: ['admin'] });
    expect(documented('adminOnly')).toStrictEqual(['401 UNAUTHENTICATED', '401 API_KEY_INVALID', '403 API_KEY_SCOPE', '403 FORBIDDEN']);
  });

  it('@AllowApiKey(scope): the scope a personal key needs, and the personal key scheme after bearer', () => {
    expect(Reflect.getMetadata(API_KEY_SCOPE_RULE, route('readable'))).toBe('profile:read');
    expect(Reflect.getMetadata(API_KEY_SCOPE_RULE, route('signedIn'))).toBeUndefined();
    expect(security('readable')).toStrictEqual([{ bearer: [] }, { 'personal-api-key': [] }]);
  });

  it('@RecentAuth(): the ⏱ flag and 403 RECENT_AUTH_REQUIRED', () => {
    expect(Reflect.getMetadata(RECENT_AUTH, route('sensitive'))).toBe(true);
    expect(Reflect.getMetadata(RECENT_AUTH, route('signedIn'))).toBeUndefined();
    expect(documented('sensitive')).toContain('403 RECENT_AUTH_REQUIRED');
    expect(documented('signedIn')).not.toContain('403 RECENT_AUTH_REQUIRED');
  });

  it('@CurrentUser(): the principal the guard put on the request', () => {
    class Handlers {
      me(@CurrentUser() _user: Principal) {}
    }
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Handlers, 'me') as Record<string, { factory: (data: unknown, ctx: ExecutionContext) => unknown }>;
    const [{ factory }] = Object.values(args);
    const user: Principal = { userId: 'u-1', role: 'normal_user', sessionId: 's-1', tokenId: 'j-1', authTime: 1_800_000_000, via: 'bearer', amr: ['pwd'] };
    const context = (request: object) => ({ switchToHttp: () => ({ getRequest: () => request }) }) as unknown as ExecutionContext;
    expect(factory(undefined, context({ user }))).toBe(user);
    expect(factory(undefined, context({}))).toBeUndefined();
  });
});
