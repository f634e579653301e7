import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { clientNetworkKey } from '@/common/http/client-network';
import { ClientInfo } from '@/common/http/decorators';
import { KvStore } from '@/common/kv/kv-store';
import { AuditService } from '@/modules/audit/audit.service';
import { HumanCheckService } from '@/modules/human-check/human-check.service';
import { VerificationCodesService } from '@/modules/verification/codes/verification-codes.service';
import { VerificationErrors } from '@/modules/verification/verification.errors';
import type { EntityManager } from 'typeorm';
import { isEmailAddress } from './email-address';
import { emailKey, normalisePhone } from './identity';
import { User } from './user.entity';
import { CreatePhoneUserDto, CreateUserDto } from './dto/create-user.dto';
import { UserResponseDto } from './dto/user-response.dto';
import { UsersErrors } from './users.errors';
import { UsersService } from './users.service';

function sameSecret(given: string | undefined, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

/** `u_` and ten random characters: accounts that sign up without choosing a name (phone, other providers). */
export function generatedUsername(): string {
  return `u_${randomBytes(10).toString('base64url').replace(/[^A-Za-z0-9]/g, '').slice(0, 10).toLowerCase().padEnd(10, '0')}`;
}

/** What another identity provider tells about a person signing up through it. */
export interface FederatedAccount {
  method: string;
  email: string | null;
  emailVerified: boolean;
  displayName: string | null;
}

/** Sign-up by username and email: the operator's switches, the captcha, then the account rules. */
@Injectable()
export class RegistrationService {
  constructor(
    private readonly users: UsersService,
    private readonly humanCheck: HumanCheckService,
    private readonly audit: AuditService,
    private readonly codes: VerificationCodesService,
    private readonly kv: KvStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  assertOpen(registrationKey: string | undefined): void {
    const { enabled, key } = this.config.registration;
    if (!enabled) throw new AppException(UsersErrors.REGISTRATION_DISABLED);
    if (key && !sameSecret(registrationKey, key)) throw new AppException(UsersErrors.REGISTRATION_KEY_INVALID);
  }

  /**
   * Usernames are public, so sign-up cannot hide which exist; it is slowed instead: every attempt
   * from a client IP counts (wrong captchas and conflicts too), REGISTRATION_PER_IP_PER_HOUR at most.
   */
  private async countAttempt(ip: string): Promise<void> {
    const key = `signup-hour-ip:${clientNetworkKey(ip)}`;
    if ((await this.kv.increment(key, 3600_000)) > this.config.registration.perIpPerHour) {
      throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: (await this.kv.ttl(key)) / 1000 });
    }
  }

  async register(dto: CreateUserDto, client: ClientInfo): Promise<UserResponseDto> {
    this.assertOpen(dto.registrationKey);
    await this.countAttempt(client.ip);
    if (this.config.registration.captchaRequired) await this.humanCheck.require(dto, client);
    const emailProven = this.config.registration.emailCodeRequired;
    if (emailProven) {
      // Conflicts first, so that a taken name does not burn the emailed code.
      if (await this.users.findByUsername(dto.username)) throw new AppException(UsersErrors.USERNAME_TAKEN);
      if (await this.users.findByEmail(dto.email)) throw new AppException(UsersErrors.EMAIL_TAKEN);
      if (!dto.emailCode) throw new AppException(VerificationErrors.CODE_INVALID, { details: [{ field: 'emailCode', message: 'emailCode is required' }] });
      await this.codes.consume({ channel: 'email', destination: emailKey(dto.email), purpose: 'register' }, dto.emailCode);
    }
    const user = await this.users.create(
      {
        username: dto.username,
        email: dto.email,
        emailVerified: emailProven,
        password: dto.password,
        profile: { displayName: dto.displayName, intro: dto.intro, github: dto.github, school: dto.school, website: dto.website },
      },
      (tx, created) => this.audit.record({ type: 'sign_up', outcome: 'success', userId: created.id, actorId: created.id, client, detail: { method: 'email' } }, tx),
    );
    return this.users.toResponse(user);
  }

  /**
   * Sign-up with a phone and an SMS code (purpose register). The username is generated (`u_` and
   * ten random characters; the user may not change it yet); without a password the account signs
   * in by SMS code.
   */
  async registerByPhone(dto: CreatePhoneUserDto, client: ClientInfo): Promise<UserResponseDto> {
    this.assertOpen(dto.registrationKey);
    await this.countAttempt(client.ip);
    const phone = normalisePhone(dto.phone);
    if (!phone) throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'phone', message: 'phone must be an E.164 number or an 11-digit Chinese mobile number' }] });
    const username = generatedUsername();
    if (dto.password !== undefined) this.users.assertPasswordAcceptable(dto.password, { username, email: null });
    // The code first: register codes never reach a taken number, so its answer is a wrong code's and
    // phone numbers (unlike usernames) stay private. Only a race can still answer PHONE_TAKEN.
    await this.codes.consume({ channel: 'sms', destination: phone, purpose: 'register' }, dto.smsCode);
    const user = await this.users.create({ username, email: null, phone, password: dto.password ?? null, profile: { displayName: dto.displayName } }, (tx, created) =>
      this.audit.record({ type: 'sign_up', outcome: 'success', userId: created.id, actorId: created.id, client, detail: { method: 'phone' } }, tx),
    );
    return this.users.toResponse(user);
  }

  /**
   * Sign-up through another identity provider (the provider was the human check, so no captcha,
   * but the per-IP sign-up budget counts it like any other). The switches hold: registration off refuses it, and a registration key must have been shown
   * when the flow started. The provider's email is kept only when it is a usable address, and is
   * verified only when the provider says so; with REGISTRATION_EMAIL_CODE on, an unverified one is dropped.
   */
  async registerFederated(account: FederatedAccount, registrationKeyShown: boolean, client: ClientInfo, alsoWrite: (tx: EntityManager, user: User) => Promise<void>): Promise<User> {
    const { enabled, key, emailCodeRequired } = this.config.registration;
    if (!enabled) throw new AppException(UsersErrors.REGISTRATION_DISABLED);
    if (key && !registrationKeyShown) throw new AppException(UsersErrors.REGISTRATION_KEY_INVALID);
    await this.countAttempt(client.ip);
    const email = account.email && isEmailAddress(account.email) && (account.emailVerified || !emailCodeRequired) ? account.email : null;
    return this.users.create(
      {
        username: generatedUsername(),
        email,
        emailVerified: email !== null && account.emailVerified,
        password: null,
        profile: { displayName: account.displayName?.trim().slice(0, 64) || undefined },
      },
      async (tx, created) => {
        await this.audit.record({ type: 'sign_up', outcome: 'success', userId: created.id, actorId: created.id, client, detail: { method: account.method } }, tx);
        await alsoWrite(tx, created);
      },
    );
  }
}
