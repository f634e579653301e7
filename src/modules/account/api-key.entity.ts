import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ApiKeyScope } from './api-key-scopes';

/** A personal API key: only the SHA-256 of the secret is kept. Deleted with its account (ON DELETE CASCADE). */
@Entity('api_keys')
export class ApiKey {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash: string;

  /** Space-separated in one portable varchar column. */
  @Column({
    type: 'varchar',
    length: 100,
    transformer: { to: (scopes: ApiKeyScope[]) => scopes.join(' '), from: (value: string) => (value ? value.split(' ') : []) as ApiKeyScope[] },
  })
  scopes: ApiKeyScope[];

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt: Date;

  @Column({ name: 'last_used_at', type: 'datetime', precision: 3, nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
