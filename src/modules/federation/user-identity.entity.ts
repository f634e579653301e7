import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * An account's sign-in with another identity provider: (provider, subject) belongs to one account,
 * and an account holds at most one identity per provider. Deleted with the account (foreign key cascade).
 */
@Entity('user_identities')
export class UserIdentity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @Column({ type: 'varchar', length: 32 })
  provider: string;

  /** The provider's stable id for the person (OIDC `sub`, GitHub id, WeChat unionid/openid). */
  @Column({ type: 'varchar', length: 255 })
  subject: string;

  /** The email the provider reported at linking, for the user's own list; never used to match accounts. */
  @Column({ type: 'varchar', length: 254, nullable: true })
  email: string | null;

  @Column({ name: 'linked_at', type: 'datetime', precision: 3 })
  linkedAt: Date;
}
