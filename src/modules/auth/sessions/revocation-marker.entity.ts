import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The durable copy of a "revoke every session started before" marker (POST /admin/sessions/revoke-all).
 * The guard reads the shared store, never this table; start-up copies the row back into the store,
 * so an in-process store (the embedded default) does not forget the marker on a restart.
 */
@Entity('revocation_markers')
export class RevocationMarker {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name: string;

  @Column({ name: 'before_at', type: 'datetime', precision: 3 })
  beforeAt: Date;
}
