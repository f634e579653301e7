import sharp from 'sharp';
import { AppException } from '@/common/errors';
import { renderAvatar, sniffFormat } from './avatar-image';
import { avatarFiles, isAvatarFileName, newAvatarKey } from './avatar-names';

async function solid(format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff', width = 64, height = 64): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#3a6ea5' } }).toFormat(format).toBuffer();
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof AppException ? error.entry.code : `unexpected: ${String(error)}`;
  }
  return 'no error';
}

describe('avatar images', () => {
  it('never hands bytes of an unknown type to the image decoder: the magic-bytes decision comes first', async () => {
    const hostile = [await solid('tiff'), Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), Buffer.from('RIFF\0\0\0\0WAVE'), Buffer.from('%PDF-1.7\n')];
    const decoder = Object.assign(jest.fn(), { cache: jest.fn() });
    const codes: string[] = [];
    await jest.isolateModulesAsync(async () => {
      jest.doMock('sharp', () => decoder);
      const isolated = await import('./avatar-image');
      for (const bytes of hostile) {
        // The isolated registry has its own AppException class, so the code is read off the error.
        codes.push(await isolated.renderAvatar(bytes, 1_000_000).then(() => 'no error', (error: { entry?: { code: string } }) => error.entry?.code ?? `unexpected: ${String(error)}`));
      }
    });
    jest.dontMock('sharp'); // the mock must not outlive the isolated registry
    expect(codes).toEqual(hostile.map(() => 'AVATAR_UNSUPPORTED_TYPE'));
    expect(decoder).not.toHaveBeenCalled();
  });

  it('recognises JPEG, PNG, GIF and WebP by their first bytes only', async () => {
    expect(sniffFormat(await solid('jpeg'))).toBe('jpeg');
    expect(sniffFormat(await solid('png'))).toBe('png');
    expect(sniffFormat(await solid('gif'))).toBe('gif');
    expect(sniffFormat(await solid('webp'))).toBe('webp');
    expect(sniffFormat(await solid('tiff'))).toBeNull();
    expect(sniffFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(sniffFormat(Buffer.from('RIFF\0\0\0\0WAVE'))).toBeNull();
    expect(sniffFormat(Buffer.alloc(0))).toBeNull();
  });

  it('renders 256 and 64 px square WebPs', async () => {
    const rendered = await renderAvatar(await solid('png', 300, 100), 16_777_216);
    expect(await sharp(rendered[256]).metadata()).toMatchObject({ format: 'webp', width: 256, height: 256 });
    expect(await sharp(rendered[64]).metadata()).toMatchObject({ format: 'webp', width: 64, height: 64 });
  });

  it('refuses a file whose bytes say one format and whose content is another', async () => {
    const png = await solid('png');
    const disguised = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), png]);
    expect(await errorOf(renderAvatar(disguised, 16_777_216))).toMatch(/AVATAR_(UNSUPPORTED_TYPE|IMAGE_INVALID)/);
  });

  it('answers damaged files of every format with a catalogued error, never anything else', async () => {
    // A deterministic fuzz: truncations and byte flips of real files.
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (const format of ['png', 'jpeg', 'webp', 'gif'] as const) {
      const original = await sharp({ create: { width: 80, height: 60, channels: 3, background: '#a33' } }).toFormat(format).toBuffer();
      for (let round = 0; round < 12; round++) {
        const damaged = Buffer.from(original.subarray(0, round % 3 === 0 ? 8 + (next() % original.length) : original.length));
        for (let flips = 0; flips < 1 + (round % 4); flips++) damaged[12 + (next() % Math.max(1, damaged.length - 12))] ^= 1 + (next() % 255);
        expect(await errorOf(renderAvatar(damaged, 16_777_216))).toMatch(/^(no error|AVATAR_[A-Z_]+)$/);
      }
    }
  });

  it('refuses by the pixel limit', async () => {
    expect(await errorOf(renderAvatar(await solid('png', 200, 200), 39_999))).toBe('AVATAR_TOO_MANY_PIXELS');
    expect(await errorOf(renderAvatar(await solid('png', 200, 200), 40_000))).toBe('no error');
  });
});

describe('avatar file names', () => {
  it('are 128 random bits, with a 64 px sibling, and nothing else matches', () => {
    const key = newAvatarKey();
    expect(key).toMatch(/^[0-9a-f]{32}\.webp$/);
    expect(newAvatarKey()).not.toBe(key);
    const files = avatarFiles(key).map((file) => file.fileName);
    expect(files).toEqual([key, key.replace('.webp', '-64.webp')]);
    expect(files.every(isAvatarFileName)).toBe(true);
    expect(avatarFiles('../../etc/passwd')).toEqual([]);
    expect(avatarFiles(null)).toEqual([]);
    for (const bad of ['../x.webp', `${key}/..`, key.toUpperCase(), `${key}\0`, key.replace('.webp', '-256.webp'), ` ${key}`]) expect(isAvatarFileName(bad)).toBe(false);
  });
});
