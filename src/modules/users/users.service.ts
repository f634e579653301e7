import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { AppException } from '@/common/errors';
import { KvStore } from '@/common/kv/kv-store';
import type { EntityManager } from 'typeorm';
import { AlsoWrite } from '@/database/transaction';
import { EventsService } from '@/modules/events/events.service';
import { PROFILE_FIELDS } from '@/modules/events/event-types';
import { AvatarUrlOf, toUserResponse, UserResponseDto } from './dto/user-response.dto';
import { emailKey, IdentifierKind, normaliseUsername, usernameKey } from './identity';
import { assertAcceptablePassword } from './password/password-policy';
import { PasswordHasher } from './password/password-hasher';
import { Role, User, UserStatus } from './user.entity';
import { UsersErrors } from './users.errors';
import { UserSearch, UsersRepository } from './users.repository';

export const AVATAR_URL_OF = Symbol('AVATAR_URL_OF');

export interface NewAccount {
  username: string;
  email: string | null;
  phone?: string | null;
  password: string | null;
  role?: Role;
  emailVerified?: boolean;
  profile?: Partial<Pick<User, 'displayName' | 'intro' | 'github' | 'school' | 'website'>>;
}

const VIEW_TTL_MS = 5 * 60_000;

/**
 * The one way other modules read and change accounts. Every write goes through here, so the
 * cached view (what GET /users/me serves without touching the database) is always dropped.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly kv: KvStore,
    private readonly clock: Clock,
    private readonly events: EventsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AVATAR_URL_OF) private readonly avatarUrl: AvatarUrlOf,
  ) {}

  toResponse(user: User): UserResponseDto {
    return toUserResponse(user, this.avatarUrl);
  }

  assertPasswordAcceptable(password: string, context: { username?: string | null; email?: string | null }): void {
    assertAcceptablePassword(password, this.config.passwords, context);
  }

  /**
   * Creates an account after every rule has passed; new accounts are normal_user unless the caller
   * is trusted code. `alsoWrite(tx, user)` (its audit event) commits with the row, or neither does.
   */
  async create(account: NewAccount, alsoWrite?: (tx: EntityManager, user: User) => Promise<void>): Promise<User> {
    const name = normaliseUsername(account.username);
    if (!name) throw new AppException(UsersErrors.USERNAME_INVALID, { details: [{ field: 'username', message: UsersErrors.USERNAME_INVALID.message.en }] });
    if (account.password !== null) this.assertPasswordAcceptable(account.password, { username: name.username, email: account.email });
    const key = account.email ? emailKey(account.email) : null;
    // Cheap checks first so that a taken name costs no bcrypt work; the unique indexes still decide races.
    if (await this.users.findByUsernameKey(name.key)) throw new AppException(UsersErrors.USERNAME_TAKEN);
    // After the look-alike check, so that `rооtadmin` (Cyrillic о) next to `rootadmin` says taken (contract §13).
    if (name.mixesScripts) throw new AppException(UsersErrors.USERNAME_INVALID, { details: [{ field: 'username', message: 'username must be written in one script (Latin may go with Chinese, Japanese or Korean)' }] });
    if (key && (await this.users.findByEmailKey(key))) throw new AppException(UsersErrors.EMAIL_TAKEN);
    if (account.phone && (await this.users.findByPhone(account.phone))) throw new AppException(UsersErrors.PHONE_TAKEN);
    const now = new Date(this.clock.now());
    const user = Object.assign(new User(), {
      id: randomUUID(),
      username: name.username,
      usernameKey: name.key,
      email: account.email?.trim() ?? null,
      emailKey: key,
      emailVerified: account.emailVerified ?? false,
      phone: account.phone ?? null,
      passwordHash: account.password === null ? null : await this.hasher.hash(account.password),
      role: account.role ?? 'normal_user',
      status: 'active' as UserStatus,
      displayName: account.profile?.displayName ?? null,
      intro: account.profile?.intro ?? null,
      github: account.profile?.github ?? null,
      school: account.profile?.school ?? null,
      website: account.profile?.website ?? null,
      avatarKey: null,
      realNameVerified: false,
      mfaMethods: null,
      createdAt: now,
      updatedAt: now,
    });
    // Every way in (sign-up by email, phone or provider, the first admin) reports user.created here, once.
    return this.users.insert(user, async (tx) => {
      await alsoWrite?.(tx, user);
      await this.events.emit(tx, 'user.created', { userId: user.id });
    });
  }

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  async getById(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new AppException(UsersErrors.USER_NOT_FOUND);
    return user;
  }

  findByIdentifierKind(identifier: IdentifierKind): Promise<User | null> {
    return this.users.findByIdentifier(identifier);
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findByEmailKey(emailKey(email));
  }

  findByPhone(phone: string): Promise<User | null> {
    return this.users.findByPhone(phone);
  }

  findByUsername(username: string): Promise<User | null> {
    return this.users.findByUsernameKey(usernameKey(username));
  }

  /** The owner's view, served from the shared cache when it is there (the hot path of GET /users/me). */
  async getView(id: string): Promise<UserResponseDto> {
    const cached = await this.kv.get(this.viewKey(id));
    if (cached) return JSON.parse(cached) as UserResponseDto;
    const view = this.toResponse(await this.getById(id));
    await this.kv.set(this.viewKey(id), JSON.stringify(view), VIEW_TTL_MS);
    return view;
  }

  /** Applies changes (with `alsoWrite` in the same transaction) and drops the cached view; returns the fresh account. */
  async update(id: string, changes: Partial<User>, alsoWrite?: AlsoWrite): Promise<User> {
    await this.users.update(id, { ...changes, updatedAt: new Date(this.clock.now()) }, alsoWrite);
    await this.kv.delete(this.viewKey(id));
    return this.getById(id);
  }

  /**
   * The owner's profile change (PATCH /users/me); user.updated names the fields whose values changed
   * (never the values) and commits with them. Sending the current values changes nothing and reports nothing.
   */
  async updateProfile(id: string, changes: Partial<Pick<User, (typeof PROFILE_FIELDS)[number]>>): Promise<User> {
    const current = await this.getById(id);
    const fields = PROFILE_FIELDS.filter((field) => changes[field] !== undefined && changes[field] !== current[field]);
    return this.update(id, changes, fields.length ? (tx) => this.events.emit(tx, 'user.updated', { userId: id, fields }) : undefined);
  }

  /** Deletes the account; `beforeDelete` (e.g. revoking its sessions, which the delete cascades away) commits with it. */
  async delete(id: string, beforeDelete?: AlsoWrite): Promise<void> {
    await this.users.delete(id, beforeDelete);
    await this.kv.delete(this.viewKey(id));
  }

  /** Whether the account could sign in without any other identity provider: a password, a phone for SMS codes, or a passkey (read inside `tx`). */
  async canSignInWithoutProviders(id: string, tx: EntityManager): Promise<boolean> {
    const user = await tx.findOneBy(User, { id });
    return !!user && (user.passwordHash !== null || user.phone !== null || hasMfaMethod(user, 'passkey'));
  }

  /** Whether the account could sign in without its passkeys: a password, a phone, or `identities` linked providers (read inside `tx`). */
  async canSignInWithoutPasskeys(id: string, identities: number, tx: EntityManager): Promise<boolean> {
    const user = await tx.findOneBy(User, { id });
    return !!user && (user.passwordHash !== null || user.phone !== null || identities > 0);
  }

  /** users.mfa_methods as the transaction sees it (after the users row was written in it, so parallel changes queue behind each other). */
  async mfaMethodsIn(id: string, tx: EntityManager): Promise<string | null> {
    return (await tx.findOne(User, { where: { id }, select: { id: true, mfaMethods: true } }))?.mfaMethods ?? null;
  }

  /** Sets users.mfa_methods inside `tx` (the caller's factor change); the cached view goes after the commit. */
  async setMfaMethodsIn(id: string, methods: string | null, tx: EntityManager): Promise<void> {
    await tx.update(User, { id }, { mfaMethods: methods });
  }

  /** A page of accounts as their views (admin listing). */
  async search(query: UserSearch): Promise<{ items: UserResponseDto[]; total: number }> {
    const { items, total } = await this.users.search(query);
    return { items: items.map((user) => this.toResponse(user)), total };
  }

  countActiveAdmins(): Promise<number> {
    return this.users.countActiveAdmins();
  }

  /** Where operational notices for admins go (an endpoint disabled, contract §12). */
  activeAdminEmails(): Promise<string[]> {
    return this.users.activeAdminEmails();
  }

  verifyPassword(user: User | null, password: string): Promise<boolean> {
    return this.hasher.verify(password, user?.passwordHash ?? null);
  }

  hashPassword(password: string): Promise<string> {
    return this.hasher.hash(password);
  }

  private viewKey(id: string): string {
    return `user-view:${id}`;
  }
}

/** Whether users.mfa_methods lists `method`. */
export function hasMfaMethod(user: Pick<User, 'mfaMethods'>, method: string): boolean {
  return (user.mfaMethods?.split(',') ?? []).includes(method);
}
