import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Not, QueryFailedError, Repository } from 'typeorm';
import { AppException } from '@/common/errors';
import { RealNameRecord } from './real-name-record.entity';
import { RealNameErrors } from './real-name.errors';

type Violation = 'id_card_index' | 'user_id' | null;

/** Which unique index a failed write ran into, on either driver. */
function violationOf(error: unknown): Violation {
  if (!(error instanceof QueryFailedError)) return null;
  const text = `${(error as { driverError?: { message?: string } }).driverError?.message ?? ''} ${error.message}`;
  if (!/UNIQUE constraint failed|Duplicate entry|ER_DUP_ENTRY/i.test(text)) return null;
  if (text.includes('id_card_index')) return 'id_card_index';
  if (/user_id|PRIMARY/.test(text)) return 'user_id';
  return null;
}

@Injectable()
export class RealNameRepository {
  constructor(@InjectRepository(RealNameRecord) private readonly records: Repository<RealNameRecord>) {}

  findByUserId(userId: string): Promise<RealNameRecord | null> {
    return this.records.findOneBy({ userId });
  }

  findByIdCardIndex(index: string): Promise<RealNameRecord | null> {
    return this.records.findOneBy({ idCardIndex: index });
  }

  /**
   * Writes the user's record unless a verified one is already there (`existing`: the caller saw
   * a record). The unique index on the blind index decides a race between two accounts (one
   * wins, the other gets 409); a race of one account with itself ends as an update.
   */
  async saveUnlessVerified(record: RealNameRecord, existing: boolean): Promise<void> {
    if (!existing) {
      try {
        await this.records.insert(record);
        return;
      } catch (error) {
        const violation = violationOf(error);
        if (!violation) throw error;
        if (violation === 'id_card_index' && (await this.findByIdCardIndex(record.idCardIndex!))?.userId !== record.userId) {
          throw new AppException(RealNameErrors.ID_CARD_ALREADY_BOUND);
        }
      }
    }
    const { userId, ...changes } = record;
    try {
      const result = await this.records.update({ userId, status: Not('verified') }, changes);
      if (!result.affected) throw new AppException(RealNameErrors.REAL_NAME_ALREADY_VERIFIED);
    } catch (error) {
      if (violationOf(error) === 'id_card_index') throw new AppException(RealNameErrors.ID_CARD_ALREADY_BOUND);
      throw error;
    }
  }
}
