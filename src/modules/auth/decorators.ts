import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CommonErrors } from '@/common/errors';
import { ApiErrors } from '@/common/http/openapi';
import { AccountErrors } from '@/modules/account/account.errors';
import type { ApiKeyScope } from '@/modules/account/api-key-scopes';
import type { InternalScope } from '@/config/app-config';
import type { Role } from '@/modules/users/user.entity';
import { AuthErrors } from './auth.errors';
import type { Principal } from './principal';

export const ACCESS_RULE = 'uc:access-rule';

export type AccessRule = { kind: 'public' } | { kind: 'internal'; scope: InternalScope } | { kind: 'user'; roles?: Role[] };

/** Opts a route out of the global bearer-token guard. */
export const Public = () => SetMetadata(ACCESS_RULE, { kind: 'public' } satisfies AccessRule);

/**
 * A route for internal services: they send a key from INTERNAL_API_KEYS as X-API-Key, and that key must
 * carry `scope` (403 API_KEY_SCOPE otherwise). Bearer tokens and personal keys are not internal keys (401).
 */
export const Internal = (scope: InternalScope) =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, { kind: 'internal', scope } satisfies AccessRule),
    ApiSecurity('internal-api-key'),
    ApiErrors(AuthErrors.API_KEY_INVALID, AccountErrors.API_KEY_SCOPE),
  );

/**
 * A signed-in route (the default); with roles, only those roles pass (403 otherwise). Also documents it.
 * A personal API key is refused here (403 API_KEY_SCOPE) unless the route also says @AllowApiKey(scope).
 */
export const Auth = (options: { roles?: Role[] } = {}) =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, { kind: 'user', roles: options.roles } satisfies AccessRule),
    ApiBearerAuth('bearer'),
    ApiErrors(CommonErrors.UNAUTHENTICATED, AuthErrors.API_KEY_INVALID, AccountErrors.API_KEY_SCOPE, ...(options.roles ? [CommonErrors.FORBIDDEN] : [])),
  );

export const API_KEY_SCOPE_RULE = 'uc:api-key-scope';

/**
 * Opts a signed-in route IN to personal API keys that carry `scope` (the global guard reads it); a
 * key without it answers 403 API_KEY_SCOPE. Routes without this decorator never accept a key.
 * Put it above @Auth(), so the document lists bearer first.
 */
export const AllowApiKey = (scope: ApiKeyScope) => applyDecorators(SetMetadata(API_KEY_SCOPE_RULE, scope), ApiSecurity('personal-api-key'));

export const RECENT_AUTH = 'uc:recent-auth';

/**
 * ⏱: the route needs a recent authentication (RECENT_AUTH_SECONDS), including the second factor
 * when the account has one; otherwise 403 RECENT_AUTH_REQUIRED (step up with POST /auth/reauthenticate).
 */
export const RecentAuth = () => applyDecorators(SetMetadata(RECENT_AUTH, true), ApiErrors(AuthErrors.RECENT_AUTH_REQUIRED));

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
  return request.user as Principal;
});
