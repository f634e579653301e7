/** Where the serving route sends local avatars from (the global prefix is part of the public URL). */
export const LOCAL_AVATAR_ROUTE = '/api/v1/avatars';

export const AVATAR_CONTENT_TYPE = 'image/webp';
/** Names are random and never reused, so a stored file never changes: cache it for a year. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';

/** What GET /avatars/{fileName} answers with. */
export type AvatarDelivery =
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'redirect'; url: string; cacheControl: string };

/**
 * The avatar storage port: local disk (the default) or S3-compatible object storage, chosen by
 * AVATAR_STORAGE. File names reaching an adapter have already matched AVATAR_FILE_NAME.
 */
export abstract class AvatarStorage {
  abstract save(fileName: string, bytes: Buffer): Promise<void>;
  /** Deletes the files; a file that is already gone is not an error. */
  abstract remove(fileNames: string[]): Promise<void>;
  /** The URL clients are given (the user's avatarUrl). */
  abstract urlOf(fileName: string): string;
  /** The file's bytes or where to fetch them; null when there is no such file. */
  abstract deliver(fileName: string): Promise<AvatarDelivery | null>;
}
