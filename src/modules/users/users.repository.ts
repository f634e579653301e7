import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, QueryFailedError, Repository } from 'typeorm';
import { lockAccountRow } from '@/database/account-lock';
import { AlsoWrite, inTransaction } from '@/database/transaction';
import { AppException } from '@/common/errors';
import { emailKey, IdentifierKind, usernameKey } from './identity';
import { Role, User, UserStatus } from './user.entity';
import { UsersErrors } from './users.errors';

/** Maps a unique-index violation (either driver) to the conflict it means. */
function conflictOf(error: unknown): AppException | null {
  if (!(error instanceof QueryFailedError)) return null;
  const text = `${(error as { driverError?: { message?: string } }).driverError?.message ?? ''} ${error.message}`;
  if (!/UNIQUE constraint failed|Duplicate entry|ER_DUP_ENTRY/i.test(text)) return null;
  if (text.includes('username_key')) return new AppException(UsersErrors.USERNAME_TAKEN);
  if (text.includes('email_key')) return new AppException(UsersErrors.EMAIL_TAKEN);
  if (text.includes('phone')) return new AppException(UsersErrors.PHONE_TAKEN);
  return null;
}

export interface UserSearch {
  page: number;
  pageSize: number;
  q?: string;
  role?: Role;
  status?: UserStatus;
}

@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByUsernameKey(key: string): Promise<User | null> {
    return this.users.findOneBy({ usernameKey: key });
  }

  findByEmailKey(key: string): Promise<User | null> {
    return this.users.findOneBy({ emailKey: key });
  }

  findByPhone(phone: string): Promise<User | null> {
    return this.users.findOneBy({ phone });
  }

  async findByIdentifier(identifier: IdentifierKind): Promise<User | null> {
    switch (identifier.kind) {
      case 'email':
        return this.findByEmailKey(identifier.key);
      case 'phone':
        return (await this.findByPhone(identifier.phone)) ?? this.findByUsernameKey(identifier.usernameKey);
      case 'username':
        return this.findByUsernameKey(identifier.key);
    }
  }

  /** Inserts, turning a lost race on a unique index into the 409 it means (never a 500); `alsoWrite` commits with it. */
  async insert(user: User, alsoWrite?: AlsoWrite): Promise<User> {
    try {
      await inTransaction(this.users.manager, async (tx) => {
        await tx.insert(User, user);
        await alsoWrite?.(tx);
      });
      return user;
    } catch (error) {
      throw conflictOf(error) ?? error;
    }
  }

  /** Saves changed columns, with the same conflict mapping (email or phone taken meanwhile); `alsoWrite` commits with them. */
  async update(id: string, changes: Partial<User>, alsoWrite?: AlsoWrite): Promise<void> {
    try {
      if (alsoWrite) {
        await inTransaction(this.users.manager, async (tx) => {
          await tx.update(User, { id }, changes);
          await alsoWrite(tx);
        });
      } else {
        await this.users.update({ id }, changes);
      }
    } catch (error) {
      throw conflictOf(error) ?? error;
    }
  }

  /** Deletes the row (its sessions and records go with it); `beforeDelete` runs first, in the same transaction. */
  async delete(id: string, beforeDelete?: AlsoWrite): Promise<void> {
    await inTransaction(this.users.manager, async (tx) => {
      // The account row before its sessions (beforeDelete revokes them), in the order sign-in takes them.
      await lockAccountRow(tx, id);
      await beforeDelete?.(tx);
      await tx.delete(User, { id });
    });
  }

  countActiveAdmins(): Promise<number> {
    return this.users.countBy({ role: 'admin', status: 'active' });
  }

  async activeAdminEmails(): Promise<string[]> {
    const admins = await this.users.find({ select: { email: true }, where: { role: 'admin', status: 'active' } });
    return admins.map((admin) => admin.email).filter((email): email is string => !!email);
  }

  async search(query: UserSearch): Promise<{ items: User[]; total: number }> {
    const builder = this.users.createQueryBuilder('user');
    const q = query.q;
    if (q) {
      // Normalise first, then escape the LIKE wildcards with '!' (a backslash means different
      // things in SQLite and MySQL string literals).
      const prefixOf = (value: string) => `${value.replace(/[!%_]/g, (c) => `!${c}`)}%`;
      builder.andWhere(
        new Brackets((where) =>
          where
            .where(`user.usernameKey LIKE :usernamePrefix ESCAPE '!'`, { usernamePrefix: prefixOf(usernameKey(q)) })
            .orWhere(`user.emailKey LIKE :emailPrefix ESCAPE '!'`, { emailPrefix: prefixOf(emailKey(q)) })
            .orWhere(`user.phone LIKE :phonePrefix ESCAPE '!'`, { phonePrefix: prefixOf(q.trim()) }),
        ),
      );
    }
    if (query.role) builder.andWhere('user.role = :role', { role: query.role });
    if (query.status) builder.andWhere('user.status = :status', { status: query.status });
    const [items, total] = await builder
      .orderBy('user.createdAt', 'DESC')
      .addOrderBy('user.id', 'ASC')
      .skip((query.page - 1) * query.pageSize)
      .take(query.pageSize)
      .getManyAndCount();
    return { items, total };
  }
}
