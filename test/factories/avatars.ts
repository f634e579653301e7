import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestApp } from '../helpers/test-app';

/** Avatar URLs on local storage: 128 random bits, hex, WebP. */
export const AVATAR_URL = /^\/api\/v1\/avatars\/[0-9a-f]{32}\.webp$/;

/** The files in the local avatar folder, sorted. */
export function storedFiles(t: TestApp): string[] {
  const folder = join(t.dataDir, 'avatars');
  return existsSync(folder) ? readdirSync(folder).sort() : [];
}

/** POSTs one file as the multipart field `file` (or another field name), as a browser form would. */
export function uploadAvatar(t: TestApp, auth: Record<string, string>, bytes: Buffer, options: { filename?: string; contentType?: string; field?: string } = {}) {
  return t.http
    .post('/api/v1/users/me/avatar')
    .set(auth)
    .attach(options.field ?? 'file', bytes, { filename: options.filename ?? 'avatar.png', contentType: options.contentType ?? 'image/png' });
}

/** The file name part of an avatar URL (`/api/v1/avatars/<name>` or a bucket URL). */
export function avatarFileName(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

/** The 64 px sibling of an avatar file name. */
export function smallAvatarName(name: string): string {
  return name.replace(/\.webp$/, '-64.webp');
}
