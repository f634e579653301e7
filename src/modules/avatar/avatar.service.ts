import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { DependencyUnavailableError } from '@/common/http/error-response';
import { KvStore } from '@/common/kv/kv-store';
import type { User } from '@/modules/users/user.entity';
import { UsersService } from '@/modules/users/users.service';
import { renderAvatar } from './avatar-image';
import { avatarFiles, newAvatarKey } from './avatar-names';
import { AvatarStorage } from './storage/avatar-storage';

const HOUR_MS = 3600_000;
const LOCK_MS = 60_000;

/** Replacing and removing a user's avatar files; the files and the user's avatarKey change together. */
@Injectable()
export class AvatarService {
  private readonly logger = new Logger('Avatars');

  constructor(
    private readonly users: UsersService,
    private readonly storage: AvatarStorage,
    private readonly kv: KvStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Counts every upload attempt (image decoding is the expensive part, so failures count too). */
  async assertUploadAllowed(userId: string): Promise<void> {
    const key = `avatar-uploads:${userId}`;
    const count = await this.kv.increment(key, HOUR_MS);
    if (count > this.config.avatars.uploadsPerHour) {
      throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: Math.ceil((await this.kv.ttl(key)) / 1000) });
    }
  }

  /** Re-encodes the upload, stores it under a new random name, points the user at it and deletes the old files. */
  async replace(userId: string, upload: Buffer): Promise<string> {
    const rendered = await renderAvatar(upload, this.config.avatars.maxPixels);
    // One upload per user at a time, so that two racing uploads cannot orphan each other's files.
    const lock = `avatar-lock:${userId}`;
    if (!(await this.kv.setIfAbsent(lock, '1', LOCK_MS))) throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: 2 });
    try {
      const key = newAvatarKey();
      const files = avatarFiles(key);
      let user: User;
      try {
        await Promise.all(files.map(({ size, fileName }) => this.storage.save(fileName, rendered[size]))).catch((error: unknown) => {
          throw new DependencyUnavailableError('avatar storage', error);
        });
        const previous = (await this.users.getById(userId)).avatarKey;
        user = await this.users.update(userId, { avatarKey: key });
        await this.discard(previous);
      } catch (error) {
        await this.discard(key);
        throw error;
      }
      return this.users.toResponse(user).avatarUrl!;
    } finally {
      await this.kv.delete(lock);
    }
  }

  /** Deletes a (former) user's avatar files, e.g. when the account is deleted. */
  async removeFor(user: { avatarKey: string | null }): Promise<void> {
    await this.discard(user.avatarKey);
  }

  /** Best effort: the account change has happened, so a storage failure is logged rather than undone. */
  private async discard(key: string | null): Promise<void> {
    const files = avatarFiles(key).map((file) => file.fileName);
    if (!files.length) return;
    try {
      await this.storage.remove(files);
    } catch (error) {
      this.logger.warn(`Could not delete avatar files ${files.join(', ')}: ${(error as Error)?.message ?? error}`);
    }
  }
}
