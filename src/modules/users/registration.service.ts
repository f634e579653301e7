import { timingSafeEqual, createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { AuditService } from '@/modules/audit/audit.service';
import { CaptchaService } from '@/modules/verification/captcha/captcha.service';
import { CreateUserDto } from './dto/create-user.dto';
import { UserResponseDto } from './dto/user-response.dto';
import { UsersErrors } from './users.errors';
import { UsersService } from './users.service';

function sameSecret(given: string | undefined, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

/** Sign-up by username and email: the operator's switches, the captcha, then the account rules. */
@Injectable()
export class RegistrationService {
  constructor(
    private readonly users: UsersService,
    private readonly captchas: CaptchaService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  assertOpen(registrationKey: string | undefined): void {
    const { enabled, key } = this.config.registration;
    if (!enabled) throw new AppException(UsersErrors.REGISTRATION_DISABLED);
    if (key && !sameSecret(registrationKey, key)) throw new AppException(UsersErrors.REGISTRATION_KEY_INVALID);
  }

  async register(dto: CreateUserDto, client: ClientInfo): Promise<UserResponseDto> {
    this.assertOpen(dto.registrationKey);
    if (this.config.registration.captchaRequired) await this.captchas.require(dto.captchaId, dto.captchaText);
    const user = await this.users.create({
      username: dto.username,
      email: dto.email,
      password: dto.password,
      profile: { displayName: dto.displayName, intro: dto.intro, github: dto.github, school: dto.school, website: dto.website },
    });
    await this.audit.record({ type: 'sign_up', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { method: 'email' } });
    return this.users.toResponse(user);
  }
}
