import { Column, Entity, PrimaryColumn } from 'typeorm';

export const REAL_NAME_STATUSES = ['pending', 'verified', 'rejected'] as const;
export type RealNameStatus = (typeof REAL_NAME_STATUSES)[number];

/** One per account. The name and number only ever exist here encrypted; see RealNameCipher. */
@Entity('real_name_records')
export class RealNameRecord {
  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @Column({ type: 'varchar', length: 16 })
  status: RealNameStatus;

  /** Which REAL_NAME_ENCRYPTION_KEYS entry sealed both values. */
  @Column({ name: 'key_id', type: 'varchar', length: 32 })
  keyId: string;

  @Column({ name: 'real_name_enc', type: 'varchar', length: 255 })
  realNameEnc: string;

  @Column({ name: 'id_card_enc', type: 'varchar', length: 128 })
  idCardEnc: string;

  /** HMAC blind index of the number; unique, so a number binds to one account. Null when rejected (it binds nothing). */
  @Column({ name: 'id_card_index', type: 'varchar', length: 64, nullable: true })
  idCardIndex: string | null;

  /** The verification provider that decided the status (local, http). */
  @Column({ type: 'varchar', length: 16 })
  provider: string;

  @Column({ name: 'submitted_at', type: 'datetime', precision: 3 })
  submittedAt: Date;

  @Column({ name: 'verified_at', type: 'datetime', precision: 3, nullable: true })
  verifiedAt: Date | null;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}
