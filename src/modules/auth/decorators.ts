import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CommonErrors } from '@/common/errors';
import { ApiErrors } from '@/common/http/openapi';
import type { Role } from '@/modules/users/user.entity';
import { AuthErrors } from './auth.errors';
import type { Principal } from './principal';

export const ACCESS_RULE = 'uc:access-rule';

export type AccessRule = { kind: 'public' } | { kind: 'internal' } | { kind: 'user'; roles?: Role[] };

/** Opts a route out of the global bearer-token guard. */
export const Public = () => SetMetadata(ACCESS_RULE, { kind: 'public' } satisfies AccessRule);

/** A route for internal services: they send a key from INTERNAL_API_KEYS as X-API-Key. */
export const Internal = () =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, { kind: 'internal' } satisfies AccessRule),
    ApiSecurity('internal-api-key'),
    ApiErrors(AuthErrors.API_KEY_INVALID),
  );

/** A signed-in route (the default); with roles, only those roles pass (403 otherwise). Also documents it. */
export const Auth = (options: { roles?: Role[] } = {}) =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, { kind: 'user', roles: options.roles } satisfies AccessRule),
    ApiBearerAuth('bearer'),
    ApiSecurity('personal-api-key'),
    ApiErrors(CommonErrors.UNAUTHENTICATED, AuthErrors.API_KEY_INVALID, ...(options.roles ? [CommonErrors.FORBIDDEN] : [])),
  );

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
  return request.user as Principal;
});
