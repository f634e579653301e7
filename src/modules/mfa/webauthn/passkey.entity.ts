import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A registered passkey (WebAuthn credential): what verifying its assertions needs, and what its owner sees. */
@Entity('passkeys')
export class Passkey {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  /** The credential id (base64url) the authenticator names it by; unique over all accounts. */
  @Column({ name: 'credential_id', type: 'varchar', length: 1400 })
  credentialId: string;

  /** The COSE public key (base64url). */
  @Column({ name: 'public_key', type: 'text' })
  publicKey: string;

  /** The signature counter last seen; an assertion must move it forward (unless the authenticator keeps none: 0). */
  @Column({ type: 'bigint', transformer: { to: (value: number) => value, from: (value: string | number) => Number(value) } })
  counter: number;

  /** Comma-separated transports the browser reported (usb, internal, hybrid, ...). */
  @Column({ type: 'varchar', length: 128, nullable: true })
  transports: string | null;

  @Column({ name: 'backup_eligible', type: 'boolean' })
  backupEligible: boolean;

  @Column({ name: 'backed_up', type: 'boolean' })
  backedUp: boolean;

  @Column({ type: 'varchar', length: 36 })
  aaguid: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'datetime', precision: 3, nullable: true })
  lastUsedAt: Date | null;
}
