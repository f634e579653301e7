import { Injectable } from '@nestjs/common';
import { AppException, CommonErrors } from '@/common/errors';
import { AuditService } from '@/modules/audit/audit.service';
import { UserResponseDto } from '@/modules/users/dto/user-response.dto';
import { UsersService } from '@/modules/users/users.service';
import { isEmailAddress } from '@/modules/users/email-address';

export interface NewAdmin {
  username: string;
  email: string;
  password: string;
}

export type NewAdminField = keyof NewAdmin;

/** Which input an account-rule error is about, so start-up and the CLI can name the setting or flag. */
export function fieldOf(error: AppException): NewAdminField {
  const { code } = error.entry;
  if (code.startsWith('PASSWORD_')) return 'password';
  if (code.startsWith('EMAIL_') || error.extra.details?.some((detail) => detail.field === 'email')) return 'email';
  return 'username';
}

/** The most precise human text for an account-rule error (a field problem when there is one). */
export function problemOf(error: AppException): string {
  return error.extra.details?.[0]?.message ?? error.entry.message.en;
}

/**
 * Creates admin accounts for trusted callers only: the ADMIN_* settings at start-up and the
 * `create-admin` command. No HTTP route reaches this; the account rules (username, password
 * policy, uniqueness) are the same as for sign-up.
 */
@Injectable()
export class AdminAccountsService {
  constructor(
    private readonly users: UsersService,
    private readonly audit: AuditService,
  ) {}

  exists(username: string): Promise<boolean> {
    return this.users.findByUsername(username).then((user) => user !== null);
  }

  async createAdmin(input: NewAdmin, via: 'env' | 'cli'): Promise<UserResponseDto> {
    if (!isEmailAddress(input.email)) {
      throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'email', message: 'email must be a valid address' }] });
    }
    const user = await this.users.create({ username: input.username, email: input.email, password: input.password, role: 'admin', emailVerified: true }, (tx, created) =>
      this.audit.record({ type: 'admin_created', outcome: 'success', userId: created.id, actorId: null, detail: { via } }, tx),
    );
    return this.users.toResponse(user);
  }
}
