import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One per account: the TOTP secret, sealed with the real-name key ring (key id kept for rotation). */
@Entity('mfa_totp')
export class MfaTotp {
  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @Column({ name: 'key_id', type: 'varchar', length: 32 })
  keyId: string;

  @Column({ name: 'secret_enc', type: 'varchar', length: 255 })
  secretEnc: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  /** Null while pending: an enrolment is confirmed with a first code within 10 minutes or not at all. */
  @Column({ name: 'confirmed_at', type: 'datetime', precision: 3, nullable: true })
  confirmedAt: Date | null;
}

/** A recovery code by its keyed digest; a used one keeps its row (used_at) until the set is regenerated. */
@Entity('mfa_recovery_codes')
export class RecoveryCode {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @Column({ name: 'code_hash', type: 'varchar', length: 64 })
  codeHash: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'used_at', type: 'datetime', precision: 3, nullable: true })
  usedAt: Date | null;
}
