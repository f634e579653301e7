import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { isAvatarFileName } from '../avatar-names';
import { AvatarDelivery, AvatarStorage, LOCAL_AVATAR_ROUTE } from './avatar-storage';

function isMissing(error: unknown): boolean {
  return (error as { code?: string })?.code === 'ENOENT';
}

/** Files under DATA_DIR/avatars, served by GET /api/v1/avatars/{fileName}. */
export class LocalAvatarStorage extends AvatarStorage {
  private readonly folder: string;

  constructor(dataDir: string) {
    super();
    this.folder = resolve(dataDir, 'avatars');
  }

  async save(fileName: string, bytes: Buffer): Promise<void> {
    const target = this.pathOf(fileName);
    await mkdir(this.folder, { recursive: true });
    // Written aside and renamed, so a reader never sees half a file.
    const partial = `${target}.${randomBytes(6).toString('hex')}.part`;
    await writeFile(partial, bytes, { mode: 0o644 });
    await rename(partial, target);
  }

  async remove(fileNames: string[]): Promise<void> {
    await Promise.all(
      fileNames.map((name) =>
        unlink(this.pathOf(name)).catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        }),
      ),
    );
  }

  urlOf(fileName: string): string {
    return `${LOCAL_AVATAR_ROUTE}/${fileName}`;
  }

  async deliver(fileName: string): Promise<AvatarDelivery | null> {
    try {
      return { kind: 'bytes', bytes: await readFile(this.pathOf(fileName)) };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  /** Second line of defence after the route's pattern: the path must stay inside the folder. */
  private pathOf(fileName: string): string {
    const path = resolve(this.folder, fileName);
    if (!isAvatarFileName(fileName) || !path.startsWith(this.folder + sep)) throw new Error(`Refused avatar file name ${JSON.stringify(fileName)}`);
    return path;
  }
}
