import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppException, CommonErrors } from '@/common/errors';
import { clientInfoOf } from '@/common/http/decorators';
import { AuditService } from '@/modules/audit/audit.service';
import { UsersService } from '@/modules/users/users.service';
import { AccountErrors } from '@/modules/account/account.errors';
import type { ApiKeyScope } from '@/modules/account/api-key-scopes';
import { ApiKeysService } from '@/modules/account/api-keys.service';
import { AuthErrors } from './auth.errors';
import { ACCESS_RULE, AccessRule, API_KEY_SCOPE_RULE, RECENT_AUTH } from './decorators';
import { InternalKeysService } from './internal-keys.service';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { MfaErrors } from '@/modules/mfa/mfa.errors';
import { isRecentlyAuthenticated } from './recent-auth';
import { JwtStrategy } from './jwt.strategy';
import { Principal } from './principal';

type AuthenticatedRequest = FastifyRequest & { user?: Principal };

/** Where a token of an account that must enrol a second factor (MFA_REQUIRED_ROLES) still works. */
const ENROLMENT_ROUTES = /\/users\/me\/(mfa|passkeys)(\/|$)/;

/**
 * The one global guard: every route needs a signed-in caller unless it says @Public() (or
 * @Internal(scope) for service keys). Role checks read the account's current role, so a demotion
 * takes effect at once rather than when the token expires. A personal API key passes only where
 * the route opted in with @AllowApiKey(scope) and the key carries that scope: secure by default.
 */
interface RouteRules {
  access: AccessRule;
  apiKeyScope: ApiKeyScope | undefined;
  recentAuth: boolean;
}

@Injectable()
export class GlobalAuthGuard implements CanActivate {
  /**
   * Each route's rules, read from its metadata once: decorators never change after start-up, and the
   * reflection walk was ~2% of a GET /users/me. Keyed by class, then handler (an inherited handler can
   * sit under two classes with different class-level rules).
   */
  private readonly rulesByRoute = new WeakMap<object, WeakMap<object, RouteRules>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly internalKeys: InternalKeysService,
    private readonly users: UsersService,
    private readonly bearer: JwtStrategy,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rules = this.rulesOf(context);
    const rule = rules.access;
    if (rule.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const apiKey = request.headers['x-api-key'];
    if (rule.kind === 'internal') {
      const scopes = this.internalKeys.scopesOf(typeof apiKey === 'string' ? apiKey : undefined);
      if (!scopes) throw new AppException(AuthErrors.API_KEY_INVALID);
      if (!scopes.includes(rule.scope)) throw new AppException(AccountErrors.API_KEY_SCOPE);
      return true;
    }
    if (typeof apiKey === 'string' && !request.headers.authorization) {
      const holder = await this.apiKeys.authenticate(apiKey);
      if (!holder) throw new AppException(AuthErrors.API_KEY_INVALID);
      request.user = { userId: holder.userId, role: holder.role, sessionId: null, tokenId: null, authTime: null, via: 'api-key' };
      const scope = rules.apiKeyScope;
      if (!scope || !holder.scopes.includes(scope)) {
        await this.recordDenial(request, { reason: 'api_key_scope', keyId: holder.keyId });
        throw new AppException(AccountErrors.API_KEY_SCOPE);
      }
    } else {
      const principal = await this.bearer.authenticate(request.headers.authorization);
      if (!principal) throw new AppException(CommonErrors.UNAUTHENTICATED);
      request.user = principal;
    }
    if (request.user!.enrolmentOnly && !ENROLMENT_ROUTES.test(request.routeOptions.url ?? '')) throw new AppException(MfaErrors.MFA_NOT_ENROLLED);
    if (rules.recentAuth) {
      if (!isRecentlyAuthenticated(request.user!, this.clock.now(), this.config.sessions.recentAuthSeconds)) throw new AppException(AuthErrors.RECENT_AUTH_REQUIRED);
    }
    if (rule.roles?.length) {
      const current = await this.users.getView(request.user!.userId).catch((error: unknown) => {
        if (error instanceof AppException) return null; // the account is gone
        throw error;
      });
      if (!current || current.status !== 'active' || !rule.roles.includes(current.role)) {
        await this.recordDenial(request, {});
        throw new AppException(CommonErrors.FORBIDDEN);
      }
    }
    return true;
  }

  private rulesOf(context: ExecutionContext): RouteRules {
    const [handler, controller] = [context.getHandler(), context.getClass()];
    let byHandler = this.rulesByRoute.get(controller);
    if (!byHandler) this.rulesByRoute.set(controller, (byHandler = new WeakMap()));
    let rules = byHandler.get(handler);
    if (!rules) {
      const targets = [handler, controller];
      rules = {
        access: this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, targets) ?? { kind: 'user' },
        apiKeyScope: this.reflector.getAllAndOverride<ApiKeyScope | undefined>(API_KEY_SCOPE_RULE, targets),
        recentAuth: !!this.reflector.getAllAndOverride<boolean | undefined>(RECENT_AUTH, targets),
      };
      byHandler.set(handler, rules);
    }
    return rules;
  }

  private async recordDenial(request: AuthenticatedRequest, detail: Record<string, string>): Promise<void> {
    // The route template, not the URL: nothing the caller typed goes into the event.
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    await this.audit.record({ type: 'access_denied', outcome: 'denied', userId: request.user!.userId, actorId: request.user!.userId, client: clientInfoOf(request), detail: { route, via: request.user!.via, ...detail } });
  }
}
