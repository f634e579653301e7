import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@/common/clock';
import { ClientInfo } from '@/common/http/decorators';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { toApiKeyView } from '@/modules/account/dto/api-keys.dto';
import { ApiKeysService } from '@/modules/account/api-keys.service';
import { AuditService } from '@/modules/audit/audit.service';
import { AuthService } from '@/modules/auth/auth.service';
import type { Principal } from '@/modules/auth/principal';
import { IdentitiesService } from '@/modules/federation/identities.service';
import { MfaService } from '@/modules/mfa/mfa.service';
import { RealNameService } from '@/modules/real-name/real-name.service';
import { UsersService } from '@/modules/users/users.service';
import { EXPORT_FORMAT, EXPORT_VERSION, ExportDocumentDto } from './dto/export.dto';

/**
 * The user's own data (contract §12). Each section is the owning module's own view of it — the same
 * mappers its routes answer with — so a secret column (password hash, TOTP secret, recovery-code and
 * key hashes, refresh tokens, the encrypted ID number) has no path into the file. Second factors come
 * from MfaService.status(), so passkey names appear here as soon as that service lists them.
 * Lists that grow with use (sessions, audit events) hold at most EXPORT_MAX_ITEMS, newest first.
 */
@Injectable()
export class ExportService {
  constructor(
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly identities: IdentitiesService,
    private readonly mfa: MfaService,
    private readonly realName: RealNameService,
    private readonly apiKeys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async build(principal: Principal, client: ClientInfo): Promise<ExportDocumentDto> {
    const userId = principal.userId;
    const limit = this.config.export.maxItems;
    const user = await this.users.getById(userId);
    const profile = this.users.toResponse(user);
    const [sessions, identities, mfa, realName, apiKeys] = await Promise.all([
      this.auth.listSessions(principal, limit),
      this.identities.listFor(userId),
      this.mfa.status(user),
      this.realName.maskedForExport(userId, client),
      this.apiKeys.list(userId),
    ]);
    const events = await this.audit.list({ userId, page: 1, pageSize: limit });
    const document: ExportDocumentDto = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      exportedAt: new Date(this.clock.now()).toISOString(),
      profile,
      contacts: { email: profile.email, emailVerified: profile.emailVerified, phone: profile.phone },
      sessions: { items: sessions.items, total: sessions.total, truncated: sessions.items.length < sessions.total },
      identities,
      mfa,
      ...(realName ? { realName } : {}),
      apiKeys: apiKeys.map(toApiKeyView),
      auditEvents: { items: events.items, total: events.total, truncated: events.items.length < events.total },
    };
    await this.audit.record({ type: 'data_exported', outcome: 'success', userId, actorId: userId, client, detail: { sessions: sessions.items.length, auditEvents: events.items.length } });
    return document;
  }
}
