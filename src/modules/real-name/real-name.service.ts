import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@/common/clock';
import { AppException, CommonErrors } from '@/common/errors';
import { KvStore } from '@/common/kv/kv-store';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { ClientInfo } from '@/common/http/decorators';
import { AuditService } from '@/modules/audit/audit.service';
import { EventsService } from '@/modules/events/events.service';
import { AuthErrors } from '@/modules/auth/auth.errors';
import { AuthService } from '@/modules/auth/auth.service';
import type { Principal } from '@/modules/auth/principal';
import { UsersService } from '@/modules/users/users.service';
import { RealNameRecordDto, SubmitRealNameDto } from './dto/real-name.dto';
import { checkIdCard, ID_CARD_PROBLEMS, maskIdCard } from './id-card';
import { maskPersonName, normalisePersonName } from './person-name';
import { RealNameProvider } from './providers/real-name-provider';
import { RealNameCipher } from './real-name-cipher';
import { RealNameRecord, RealNameStatus } from './real-name-record.entity';
import { RealNameErrors } from './real-name.errors';
import { RealNameRepository } from './real-name.repository';

const DAY_MS = 24 * 3600_000;

function toRecordDto(status: RealNameStatus, realName: string, idCardNumber: string, verifiedAt: Date | null): RealNameRecordDto {
  return {
    status,
    realName: maskPersonName(realName),
    idCardNumber: maskIdCard(idCardNumber),
    verifiedAt: verifiedAt ? new Date(verifiedAt).toISOString() : null,
  };
}

/**
 * Real-name submission and (audited, masked) reading. The full name and number exist only in
 * this request's memory, in the encrypted columns, and in the call to an HTTP provider.
 */
@Injectable()
export class RealNameService {
  constructor(
    private readonly records: RealNameRepository,
    private readonly cipher: RealNameCipher,
    private readonly provider: RealNameProvider,
    private readonly users: UsersService,
    private readonly auth: AuthService,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly clock: Clock,
    private readonly kv: KvStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async submit(principal: Principal, dto: SubmitRealNameDto, client: ClientInfo): Promise<RealNameRecordDto> {
    const userId = principal.userId;
    const realName = normalisePersonName(dto.realName);
    if (!realName) throw new AppException(RealNameErrors.REAL_NAME_INVALID, { details: [{ field: 'realName', message: RealNameErrors.REAL_NAME_INVALID.message.en }] });
    const checked = checkIdCard(dto.idCardNumber, this.clock.now());
    if ('problem' in checked) {
      throw new AppException(RealNameErrors.ID_CARD_INVALID, { details: [{ field: 'idCardNumber', message: `idCardNumber ${ID_CARD_PROBLEMS[checked.problem]}` }] });
    }
    const idCardNumber = checked.number;

    const existing = await this.records.findByUserId(userId);
    if (existing?.status === 'verified') {
      await this.recordSubmission(userId, client, 'failure', { reason: 'already_verified' });
      throw new AppException(RealNameErrors.REAL_NAME_ALREADY_VERIFIED);
    }
    const index = this.cipher.blindIndex(idCardNumber);
    // Counted before the number is looked up or sent anywhere: both answers say something about the number.
    await this.reserveSubmission(userId, index, client);
    const holder = await this.records.findByIdCardIndex(index);
    if (holder && holder.userId !== userId) {
      await this.recordSubmission(userId, client, 'failure', { reason: 'id_card_already_bound' });
      throw new AppException(RealNameErrors.ID_CARD_ALREADY_BOUND);
    }

    const status = await this.provider.verify({ realName, idCardNumber });
    const now = new Date(this.clock.now());
    const record = Object.assign(new RealNameRecord(), {
      userId,
      status,
      keyId: this.cipher.currentKeyId,
      realNameEnc: this.cipher.seal(realName, 'real_name', userId),
      idCardEnc: this.cipher.seal(idCardNumber, 'id_card', userId),
      // A rejected claim binds nothing: the number stays free for its real owner.
      idCardIndex: status === 'rejected' ? null : index,
      provider: this.provider.name,
      submittedAt: now,
      verifiedAt: status === 'verified' ? now : null,
      updatedAt: now,
    });
    try {
      await this.records.saveUnlessVerified(record, !!existing);
    } catch (error) {
      if (error instanceof AppException) await this.recordSubmission(userId, client, 'failure', { reason: error.entry.code.toLowerCase() });
      throw error;
    }
    if (status === 'verified') await this.users.update(userId, { realNameVerified: true }, (tx) => this.events.emit(tx, 'user.real_name_verified', { userId }));
    await this.recordSubmission(userId, client, status === 'rejected' ? 'failure' : 'success', { status, provider: this.provider.name });
    return toRecordDto(status, realName, idCardNumber, record.verifiedAt);
  }

  /** The caller's own record, masked; a sensitive read, so it needs a recent sign-in and is audited. */
  async read(principal: Principal, client: ClientInfo): Promise<RealNameRecordDto> {
    const userId = principal.userId;
    if (!this.auth.isRecentlyAuthenticated(principal, this.clock.now())) {
      await this.audit.record({ type: 'real_name_read', outcome: 'denied', userId, actorId: userId, client, detail: { reason: 'recent_auth_required' } });
      throw new AppException(AuthErrors.RECENT_AUTH_REQUIRED);
    }
    const record = await this.records.findByUserId(userId);
    if (!record) throw new AppException(RealNameErrors.REAL_NAME_NOT_SUBMITTED);
    const realName = this.cipher.open(record.realNameEnc, record.keyId, 'real_name', userId);
    const idCardNumber = this.cipher.open(record.idCardEnc, record.keyId, 'id_card', userId);
    await this.audit.record({ type: 'real_name_read', outcome: 'success', userId, actorId: userId, client });
    return toRecordDto(record.status, realName, idCardNumber, record.verifiedAt);
  }

  /** The record for the export (GET /users/me/export, already ⏱), masked as `read` masks it, or null; an ID read, so audited. */
  async maskedForExport(userId: string, client: ClientInfo): Promise<RealNameRecordDto | null> {
    const record = await this.records.findByUserId(userId);
    if (!record) return null;
    const realName = this.cipher.open(record.realNameEnc, record.keyId, 'real_name', userId);
    const idCardNumber = this.cipher.open(record.idCardEnc, record.keyId, 'id_card', userId);
    await this.audit.record({ type: 'real_name_read', outcome: 'success', userId, actorId: userId, client, detail: { via: 'export' } });
    return toRecordDto(record.status, realName, idCardNumber, record.verifiedAt);
  }

  /**
   * Count before compare: a submission takes its slot per account and per ID number (by blind index,
   * never the number itself) for the day before the binding check and the provider call, so neither a
   * parallel burst nor several accounts can test more numbers than REAL_NAME_PER_ACCOUNT_PER_DAY /
   * REAL_NAME_PER_ID_NUMBER_PER_DAY. A refused submission takes nothing and is audited.
   */
  private async reserveSubmission(userId: string, index: string, client: ClientInfo): Promise<void> {
    const { perAccountPerDay, perIdNumberPerDay } = this.config.realName;
    const slots = [
      { key: `real-name-account:${userId}`, limit: perAccountPerDay, ttlMs: DAY_MS },
      { key: `real-name-number:${index}`, limit: perIdNumberPerDay, ttlMs: DAY_MS },
    ];
    const reservations = await this.kv.reserveAttempts(slots);
    const refused = reservations.findIndex((reservation) => !reservation.granted);
    if (refused === -1) return;
    await Promise.all(reservations.map((reservation, i) => (reservation.granted ? this.kv.releaseAttempt(slots[i].key) : undefined)));
    await this.recordSubmission(userId, client, 'denied', { reason: refused === 0 ? 'limit_per_account' : 'limit_per_id_number' });
    throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: Math.max(reservations[refused].ttlMs, 1000) / 1000 });
  }

  private recordSubmission(userId: string, client: ClientInfo, outcome: 'success' | 'failure' | 'denied', detail: Record<string, string>): Promise<void> {
    return this.audit.record({ type: 'real_name_submitted', outcome, userId, actorId: userId, client, detail });
  }
}
