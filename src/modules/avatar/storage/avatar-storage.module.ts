import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AvatarStorage } from './avatar-storage';
import { LocalAvatarStorage } from './local-avatar.storage';

/**
 * The storage adapter alone, without the upload logic, so that UsersModule can build avatar
 * URLs from it (AVATAR_URL_OF) while AvatarModule depends on UsersModule: no module cycle.
 */
@Module({
  providers: [
    {
      provide: AvatarStorage,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig): Promise<AvatarStorage> => {
        if (config.avatars.storage === 'local' || !config.avatars.s3) return new LocalAvatarStorage(config.dataDir);
        // Loaded only when used: the AWS SDK is large.
        const { S3AvatarStorage } = await import('./s3-avatar.storage');
        return new S3AvatarStorage(config.avatars.s3);
      },
    },
  ],
  exports: [AvatarStorage],
})
export class AvatarStorageModule {}
