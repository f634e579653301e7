import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { AppException } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { Language } from '@/common/i18n';
import { KvStore } from '@/common/kv/kv-store';
import { AuditService } from '@/modules/audit/audit.service';
import { AvatarService } from '@/modules/avatar/avatar.service';
import { AuthErrors } from '@/modules/auth/auth.errors';
import { AuthService } from '@/modules/auth/auth.service';
import { SignInResult } from '@/modules/auth/dto/auth.dto';
import type { Principal } from '@/modules/auth/principal';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { RegistrationService } from '@/modules/users/registration.service';
import { User } from '@/modules/users/user.entity';
import { UsersErrors } from '@/modules/users/users.errors';
import { UsersService } from '@/modules/users/users.service';
import { FederationErrors } from './federation.errors';
import { IdentitiesService } from './identities.service';
import { fetchProviderAvatar } from './provider-avatar';
import { AuthorizationRequest, ProviderFailure, ProviderProfile } from './providers/identity-provider';
import { IdentityProviders } from './providers/identity-providers';

/** How long a started sign-in may take at the provider (state, nonce and PKCE verifier live this long). */
export const FLOW_TTL_MS = 10 * 60_000;
/** How long the one-time `result` handed to the SPA may wait for its exchange. */
export const RESULT_TTL_MS = 60_000;

/** One started flow, kept in the shared store under its state, so the callback may reach any instance. */
interface PendingFlow {
  provider: string;
  redirectUri: string;
  nonce: string;
  codeVerifier: string;
  purpose: 'sign_in' | 'link';
  /** link: the account (and the session that asked) the identity goes to. */
  userId?: string;
  sessionId?: string;
  /** sign_in: the caller showed REGISTRATION_KEY when starting, so an unknown identity may sign up. */
  registrationKeyShown?: boolean;
}

interface PendingResult {
  userId: string;
  provider: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');
const stateKey = (state: string) => `oauth-flow:${digest(state)}`;
const resultKey = (result: string) => `oauth-result:${digest(result)}`;
const secret = () => randomBytes(32).toString('base64url');

/**
 * The flow of contract §11: the URL (state, nonce, PKCE S256, all single-use and bound to the
 * provider, the redirectUri and, for linking, the caller's session), the callback (the provider's
 * answer verified, then sign-in, sign-up or linking) and the exchange of the one-time result.
 */
@Injectable()
export class FederationService {
  private readonly logger = new Logger('Federation');

  constructor(
    private readonly providers: IdentityProviders,
    private readonly identities: IdentitiesService,
    private readonly users: UsersService,
    private readonly registration: RegistrationService,
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly kv: KvStore,
    private readonly clock: Clock,
    private readonly avatars: AvatarService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  listProviders(): { id: string; name: string; kind: string }[] {
    return this.providers.list().map(({ id, name, kind }) => ({ id, name, kind }));
  }

  async startSignIn(providerId: string, redirectUri: string, registrationKey: string | undefined): Promise<string> {
    this.providers.get(providerId);
    this.assertRedirectAllowed(redirectUri);
    // A key is checked now (a wrong one answers at once); the callback only needs to know it was shown.
    if (registrationKey !== undefined) this.registration.assertOpen(registrationKey);
    return this.start({ provider: providerId, redirectUri, purpose: 'sign_in', registrationKeyShown: registrationKey !== undefined });
  }

  /** ⏱: linking adds a way into the account, so it needs a recent sign-in, like other credential changes. */
  async startLink(principal: Principal, providerId: string, redirectUri: string): Promise<string> {
    const sessionId = this.auth.requireSession(principal);
    this.providers.get(providerId);
    this.assertRedirectAllowed(redirectUri);
    if (!this.auth.isRecentlyAuthenticated(principal, this.clock.now())) throw new AppException(AuthErrors.RECENT_AUTH_REQUIRED);
    this.identities.assertMayLink(await this.users.getById(principal.userId));
    return this.start({ provider: providerId, redirectUri, purpose: 'link', userId: principal.userId, sessionId });
  }

  /**
   * The provider sent the browser back. The state is taken (single use) before anything else; an
   * unknown one cannot be answered with a redirect (there is no trusted target), so it is a 400.
   * Everything after that ends in a redirect to the flow's redirectUri with `result`, `linked` or `error`.
   */
  async callback(providerId: string, query: Record<string, unknown>, rawQuery: string, client: ClientInfo, language: Language): Promise<string> {
    const state = typeof query.state === 'string' ? query.state : '';
    const raw = state && state.length <= 512 ? await this.kv.take(stateKey(state)) : null;
    if (!raw) throw new AppException(FederationErrors.OAUTH_STATE_INVALID);
    const flow = JSON.parse(raw) as PendingFlow;
    if (flow.provider !== providerId) throw new AppException(FederationErrors.OAUTH_STATE_INVALID);
    const back = new URL(flow.redirectUri);
    try {
      const profile = await this.verifiedProfile(flow, state, query, rawQuery);
      if (flow.purpose === 'link') {
        await this.linkToCaller(flow, profile, client, language);
        back.searchParams.set('linked', flow.provider);
      } else {
        back.searchParams.set('result', await this.signInResult(flow, profile, client));
      }
    } catch (error) {
      if (!(error instanceof AppException)) throw error;
      back.searchParams.set('error', error.entry.code);
    }
    return back.href;
  }

  /** Trades the one-time result for a session: single use (taken atomically), RESULT_TTL_MS. */
  async exchange(result: string, client: ClientInfo): Promise<SignInResult> {
    const raw = await this.kv.take(resultKey(result));
    if (!raw) throw new AppException(FederationErrors.OAUTH_STATE_INVALID);
    const pending = JSON.parse(raw) as PendingResult;
    const user = await this.users.findById(pending.userId);
    if (!user || user.status !== 'active') throw new AppException(AuthErrors.INVALID_CREDENTIALS);
    // The one path every first-factor sign-in takes (and where the MFA challenge applies).
    return this.auth.afterFirstFactor(user, client, 'federated', ['fed']);
  }

  private async start(flow: Omit<PendingFlow, 'nonce' | 'codeVerifier'>): Promise<string> {
    const provider = this.providers.get(flow.provider);
    const state = secret();
    const pending: PendingFlow = { ...flow, nonce: secret(), codeVerifier: secret() };
    const url = await provider.authorizationUrl(this.requestOf(pending, state)).catch((error: unknown) => {
      this.logger.warn(`Provider ${provider.id} unavailable: ${(error as Error).message}`);
      throw new AppException(FederationErrors.OAUTH_PROVIDER_ERROR);
    });
    await this.kv.set(stateKey(state), JSON.stringify(pending), FLOW_TTL_MS);
    return url;
  }

  private requestOf(flow: PendingFlow, state: string): AuthorizationRequest {
    return { callbackUrl: this.providers.callbackUrl(flow.provider), state, nonce: flow.nonce, codeVerifier: flow.codeVerifier };
  }

  private assertRedirectAllowed(redirectUri: string): void {
    if (!this.config.federation.redirectUris.includes(redirectUri)) throw new AppException(FederationErrors.REDIRECT_URI_NOT_ALLOWED);
  }

  private async verifiedProfile(flow: PendingFlow, state: string, query: Record<string, unknown>, rawQuery: string): Promise<ProviderProfile> {
    const provider = this.providers.get(flow.provider);
    try {
      if (query.error !== undefined) throw new ProviderFailure(`the provider answered error=${String(query.error).slice(0, 64)}`);
      return await provider.complete(new URL(`${this.providers.callbackUrl(flow.provider)}?${rawQuery}`), this.requestOf(flow, state));
    } catch (error) {
      this.logger.warn(`Sign-in with ${provider.id} refused: ${(error as Error).message}`);
      throw new AppException(FederationErrors.OAUTH_PROVIDER_ERROR);
    }
  }

  /** A known identity signs in; an unknown one signs up, unless its email belongs to an account (never linked silently). */
  private async signInResult(flow: PendingFlow, profile: ProviderProfile, client: ClientInfo): Promise<string> {
    const known = await this.identities.findBySubject(flow.provider, profile.subject);
    let user: User | null;
    if (known) {
      user = await this.users.findById(known.userId);
      if (!user || user.status !== 'active') {
        await this.audit.record({ type: 'sign_in', outcome: 'failure', userId: known.userId, client, detail: { method: 'federated', provider: flow.provider, reason: 'disabled' } });
        throw new AppException(AuthErrors.INVALID_CREDENTIALS);
      }
    } else {
      user = await this.signUp(flow, profile, client);
    }
    const result = secret();
    await this.kv.set(resultKey(result), JSON.stringify({ userId: user.id, provider: flow.provider } satisfies PendingResult), RESULT_TTL_MS);
    return result;
  }

  private async signUp(flow: PendingFlow, profile: ProviderProfile, client: ClientInfo): Promise<User> {
    const linkRequired = async () => {
      await this.audit.record({ type: 'sign_in', outcome: 'denied', userId: null, client, detail: { method: 'federated', provider: flow.provider, reason: 'account_exists_link_required' } });
      return new AppException(FederationErrors.ACCOUNT_EXISTS_LINK_REQUIRED);
    };
    if (profile.email && (await this.users.findByEmail(profile.email))) throw await linkRequired();
    let user: User;
    try {
      user = await this.registration.registerFederated(
        { method: `federated:${flow.provider}`, email: profile.email, emailVerified: profile.emailVerified, displayName: profile.displayName },
        flow.registrationKeyShown === true,
        client,
        (tx, created) => this.identities.add(tx, created.id, flow.provider, profile),
      );
    } catch (error) {
      // Lost races: the address was taken meanwhile, or the same identity signed up in parallel.
      if (error instanceof AppException && error.entry === UsersErrors.EMAIL_TAKEN) throw await linkRequired();
      throw error;
    }
    if (profile.avatarUrl) await this.seedAvatar(user, profile.avatarUrl);
    return user;
  }

  /** The provider's picture becomes the new account's avatar: downloaded, re-encoded and stored as ours; best effort. */
  private async seedAvatar(user: User, url: string): Promise<void> {
    const bytes = await fetchProviderAvatar(url, this.config.avatars.maxBytes, this.config.federation.allowInsecureIssuers);
    if (!bytes) return;
    try {
      await this.avatars.replace(user.id, bytes);
    } catch (error) {
      this.logger.warn(`The provider's avatar for a new account was not usable: ${(error as Error).message}`);
    }
  }

  private async linkToCaller(flow: PendingFlow, profile: ProviderProfile, client: ClientInfo, language: Language): Promise<void> {
    const user = flow.userId ? await this.users.findById(flow.userId) : null;
    if (!user || user.status !== 'active' || !flow.sessionId || (await this.sessions.isRevokedById(flow.sessionId))) throw new AppException(FederationErrors.OAUTH_STATE_INVALID);
    await this.identities.link(user, flow.sessionId, flow.provider, profile, client, language);
  }
}

