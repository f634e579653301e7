import { randomBytes } from 'node:crypto';
import { AVATAR_SIZES, AvatarSize } from './avatar-image';

/**
 * Avatar files are named by 128 random bits: `<32 hex>.webp` (256 px, the one stored on the
 * user as avatarKey and shown as avatarUrl) and `<32 hex>-64.webp` (64 px). Nothing a user
 * sends ever becomes part of a name, and the strict pattern is what keeps the serving route
 * inside its folder.
 */
export const AVATAR_FILE_NAME = /^[0-9a-f]{32}(?:-64)?\.webp$/;
const AVATAR_KEY = /^([0-9a-f]{32})\.webp$/;

export function isAvatarFileName(name: string): boolean {
  return AVATAR_FILE_NAME.test(name);
}

export function newAvatarKey(): string {
  return `${randomBytes(16).toString('hex')}.webp`;
}

/** The file name of each size of an avatar key; empty for a key this scheme did not make. */
export function avatarFiles(key: string | null): { size: AvatarSize; fileName: string }[] {
  const id = key ? AVATAR_KEY.exec(key)?.[1] : undefined;
  if (!id) return [];
  return AVATAR_SIZES.map((size, index) => ({ size, fileName: index === 0 ? `${id}.webp` : `${id}-${size}.webp` }));
}
