import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig, ConfigError } from '@/config/app-config';
import { AppException } from '@/common/errors';
import { UsersErrors } from '@/modules/users/users.errors';
import { AdminAccountsService, fieldOf, problemOf } from './admin-accounts.service';

const SETTING = { username: 'ADMIN_USERNAME', email: 'ADMIN_EMAIL', password: 'ADMIN_PASSWORD' } as const;

/**
 * The first admin: with ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD set, start-up creates that
 * account when the username does not exist yet (an existing account is left exactly as it is).
 * A value the account rules refuse stops start-up with one line naming the setting.
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminBootstrap');

  constructor(
    private readonly accounts: AdminAccountsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.admin;
    if (!admin || (await this.accounts.exists(admin.username))) return;
    try {
      const created = await this.accounts.createAdmin(admin, 'env');
      this.logger.log(`Created the admin account "${created.username}" from ADMIN_USERNAME`);
    } catch (error) {
      if (!(error instanceof AppException)) throw error;
      if (error.entry === UsersErrors.USERNAME_TAKEN) return; // another instance created it meanwhile
      throw new ConfigError(SETTING[fieldOf(error)], `is not acceptable: ${problemOf(error)}`);
    }
  }
}
