import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, QueryFailedError, Repository } from 'typeorm';
import { UserIdentity } from './user-identity.entity';

/** True when an insert lost to a unique index (either driver). */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const text = `${(error as { driverError?: { message?: string } }).driverError?.message ?? ''} ${error.message}`;
  return /UNIQUE constraint failed|Duplicate entry|ER_DUP_ENTRY/i.test(text);
}

@Injectable()
export class IdentitiesRepository {
  constructor(@InjectRepository(UserIdentity) private readonly identities: Repository<UserIdentity>) {}

  findBySubject(provider: string, subject: string): Promise<UserIdentity | null> {
    return this.identities.findOneBy({ provider, subject });
  }

  findForUser(userId: string, provider: string): Promise<UserIdentity | null> {
    return this.identities.findOneBy({ userId, provider });
  }

  listForUser(userId: string): Promise<UserIdentity[]> {
    return this.identities.find({ where: { userId }, order: { linkedAt: 'ASC' } });
  }

  async insert(identity: UserIdentity, tx: EntityManager): Promise<void> {
    await tx.insert(UserIdentity, identity);
  }

  /** Inside the caller's transaction: the other identities left once this one goes. */
  countForUser(userId: string, tx: EntityManager): Promise<number> {
    return tx.countBy(UserIdentity, { userId });
  }

  async deleteAllForUser(userId: string, tx: EntityManager): Promise<void> {
    await tx.delete(UserIdentity, { userId });
  }

  async delete(id: string, tx: EntityManager): Promise<void> {
    await tx.delete(UserIdentity, { id });
  }
}
