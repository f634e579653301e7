import { AppException } from '@/common/errors';
import { sharp } from '@/common/images/sharp';
import { AvatarErrors } from './avatar.errors';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif';

/** The sizes every avatar is rendered at (square, pixels); the first is the one avatarUrl points at. */
export const AVATAR_SIZES = [256, 64] as const;
export type AvatarSize = (typeof AVATAR_SIZES)[number];
export const MIN_SIDE = 32;
const DECODE_TIMEOUT_SECONDS = 10;

/** Judges the type by the file's first bytes; its name and declared type are never trusted. */
export function sniffFormat(bytes: Buffer): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString('latin1'))) return 'gif';
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  return null;
}

function decodeFailure(error: unknown): AppException {
  const message = (error as Error)?.message ?? '';
  if (/pixel limit/i.test(message)) return new AppException(AvatarErrors.AVATAR_TOO_MANY_PIXELS);
  if (/unsupported image format/i.test(message)) return new AppException(AvatarErrors.AVATAR_UNSUPPORTED_TYPE);
  return new AppException(AvatarErrors.AVATAR_IMAGE_INVALID);
}

/**
 * Checks an upload (magic bytes, then the header, then a full decode under a pixel limit) and
 * re-encodes it: auto-oriented, cropped to a centred square, every size a fresh WebP without
 * metadata. Nothing of the uploaded file survives but its pixels.
 */
export async function renderAvatar(bytes: Buffer, maxPixels: number): Promise<Record<AvatarSize, Buffer>> {
  const format = sniffFormat(bytes);
  if (!format) throw new AppException(AvatarErrors.AVATAR_UNSUPPORTED_TYPE);
  // limitInputPixels makes libvips refuse a decompression bomb before it allocates the pixels.
  const input = { limitInputPixels: maxPixels, failOn: 'warning', animated: false } as const;

  const meta = await sharp(bytes, input).metadata().catch((error: unknown) => {
    throw decodeFailure(error);
  });
  if (meta.format !== format) throw new AppException(AvatarErrors.AVATAR_UNSUPPORTED_TYPE);
  const { width, height } = meta;
  if (!width || !height) throw new AppException(AvatarErrors.AVATAR_IMAGE_INVALID);
  if (width * height > maxPixels) throw new AppException(AvatarErrors.AVATAR_TOO_MANY_PIXELS);
  if (Math.min(width, height) < MIN_SIDE) throw new AppException(AvatarErrors.AVATAR_TOO_SMALL);

  try {
    const largest = AVATAR_SIZES[0];
    // One full decode (failOn: 'warning' turns a truncated or corrupt file into an error), then
    // every size is encoded from the same clean square of raw pixels.
    const square = await sharp(bytes, input)
      .timeout({ seconds: DECODE_TIMEOUT_SECONDS })
      .rotate()
      .resize(largest, largest, { fit: 'cover', position: 'centre' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = { raw: { width: square.info.width, height: square.info.height, channels: square.info.channels } };
    const rendered = await Promise.all(
      AVATAR_SIZES.map((size) => sharp(square.data, raw).resize(size, size).webp({ quality: 85 }).toBuffer()),
    );
    return Object.fromEntries(AVATAR_SIZES.map((size, index) => [size, rendered[index]])) as Record<AvatarSize, Buffer>;
  } catch (error) {
    throw decodeFailure(error);
  }
}
