import { Column, Entity, PrimaryColumn } from 'typeorm';

export const ROLES = ['normal_user', 'vip_user', 'creator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const USER_STATUSES = ['active', 'disabled'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/** Portable across SQLite and MySQL: varchar instead of native enums, no driver-only types. */
@Entity('users')
export class User {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 32 })
  username: string;

  /** NFKC + lower-case; the unique index on it is what makes two sign-ups of one name impossible. */
  @Column({ name: 'username_key', type: 'varchar', length: 255 })
  usernameKey: string;

  @Column({ type: 'varchar', length: 254, nullable: true })
  email: string | null;

  @Column({ name: 'email_key', type: 'varchar', length: 254, nullable: true })
  emailKey: string | null;

  @Column({ name: 'email_verified', type: 'boolean', default: false })
  emailVerified: boolean;

  @Column({ type: 'varchar', length: 20, nullable: true })
  phone: string | null;

  @Column({ name: 'password_hash', type: 'varchar', length: 100, nullable: true })
  passwordHash: string | null;

  @Column({ type: 'varchar', length: 20, default: 'normal_user' })
  role: Role;

  @Column({ type: 'varchar', length: 20, default: 'active' })
  status: UserStatus;

  @Column({ name: 'display_name', type: 'varchar', length: 64, nullable: true })
  displayName: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  intro: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  github: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  school: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  website: string | null;

  @Column({ name: 'avatar_key', type: 'varchar', length: 128, nullable: true })
  avatarKey: string | null;

  @Column({ name: 'real_name_verified', type: 'boolean', default: false })
  realNameVerified: boolean;

  /**
   * The second factors the account has ("totp", "passkey"; comma-separated), null without MFA. Kept on
   * the row that sign-in reads anyway, so an account without MFA costs no extra query.
   */
  @Column({ name: 'mfa_methods', type: 'varchar', length: 64, nullable: true })
  mfaMethods: string | null;

  /** Set by the service from its clock (not a database default), so both drivers store UTC alike. */
  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}
