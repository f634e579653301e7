import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One signed-in device: the `sid` in every access token and the family of its refresh tokens. */
@Entity('sessions')
export class Session {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 255, nullable: true })
  userAgent: string | null;

  /** When the user last proved who they are (password or code); sensitive actions need it recent. */
  @Column({ name: 'authenticated_at', type: 'datetime', precision: 3 })
  authenticatedAt: Date;

  /** How that authentication was made: RFC 8176 values, comma-separated ("pwd", "pwd,otp,mfa"). */
  @Column({ type: 'varchar', length: 64, nullable: true })
  amr: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'datetime', precision: 3 })
  lastUsedAt: Date;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt: Date;

  @Column({ name: 'revoked_at', type: 'datetime', precision: 3, nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'revoked_reason', type: 'varchar', length: 32, nullable: true })
  revokedReason: string | null;
}

/** A refresh token, by its hash. The newest spent rows (SPENT_REFRESH_TOKENS_KEPT) stay so that a replay is recognised and kills the family. */
@Entity('refresh_tokens')
export class RefreshToken {
  @PrimaryColumn({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  @Column({ name: 'session_id', type: 'varchar', length: 36 })
  sessionId: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'spent_at', type: 'datetime', precision: 3, nullable: true })
  spentAt: Date | null;
}
