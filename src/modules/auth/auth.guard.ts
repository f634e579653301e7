import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppException, CommonErrors } from '@/common/errors';
import { UsersService } from '@/modules/users/users.service';
import { ApiKeysService } from './api-keys.service';
import { AuthErrors } from './auth.errors';
import { ACCESS_RULE, AccessRule } from './decorators';
import { JwtStrategy } from './jwt.strategy';
import { Principal } from './principal';

type AuthenticatedRequest = FastifyRequest & { user?: Principal };

/**
 * The one global guard: every route needs a signed-in caller unless it says @Public() (or
 * @Internal() for service keys). Role checks read the account's current role, so a demotion
 * takes effect at once rather than when the token expires. Bearer tokens are checked by
 * JwtStrategy directly: passport's per-request plumbing cost more than the check itself.
 */
@Injectable()
export class GlobalAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly users: UsersService,
    private readonly bearer: JwtStrategy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [context.getHandler(), context.getClass()]) ?? { kind: 'user' };
    if (rule.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const apiKey = request.headers['x-api-key'];
    if (rule.kind === 'internal') {
      if (!this.apiKeys.isInternal(typeof apiKey === 'string' ? apiKey : undefined)) throw new AppException(AuthErrors.API_KEY_INVALID);
      return true;
    }
    if (typeof apiKey === 'string' && !request.headers.authorization) {
      const principal = await this.apiKeys.authenticatePersonal(apiKey);
      if (!principal) throw new AppException(AuthErrors.API_KEY_INVALID);
      request.user = principal;
    } else {
      const principal = await this.bearer.authenticate(request);
      if (!principal) throw new AppException(CommonErrors.UNAUTHENTICATED);
      request.user = principal;
    }
    if (rule.roles?.length) {
      const current = await this.users.getView(request.user!.userId).catch((error: unknown) => {
        if (error instanceof AppException) return null; // the account is gone
        throw error;
      });
      if (!current || current.status !== 'active' || !rule.roles.includes(current.role)) throw new AppException(CommonErrors.FORBIDDEN);
    }
    return true;
  }
}
