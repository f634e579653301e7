import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Config } from '@/config/app-config';
import { AVATAR_CONTENT_TYPE, AvatarDelivery, AvatarStorage, IMMUTABLE_CACHE, LOCAL_AVATAR_ROUTE } from './avatar-storage';

/**
 * S3-compatible object storage (AWS, MinIO, Aliyun OSS, Qiniu, ...). With S3_PUBLIC_BASE_URL the
 * avatar URL points straight at the bucket (or its CDN); otherwise the bucket stays private and
 * the avatar URL is our own route, which redirects to a presigned GET that lives S3_SIGNED_URL_TTL.
 * That keeps the URL in the (cached) user view stable while every signature stays short-lived.
 */
export class S3AvatarStorage extends AvatarStorage {
  readonly client: S3Client;

  constructor(private readonly config: S3Config) {
    super();
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint ?? undefined,
      forcePathStyle: config.forcePathStyle,
      credentials: config.credentials ?? undefined,
      // Several S3-compatible services refuse the SDK's default CRC32 checksum headers; send them only where S3 needs them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
  }

  async save(fileName: string, bytes: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.config.bucket, Key: this.keyOf(fileName), Body: bytes, ContentType: AVATAR_CONTENT_TYPE, CacheControl: IMMUTABLE_CACHE }),
    );
  }

  async remove(fileNames: string[]): Promise<void> {
    // DeleteObject answers 204 for a key that does not exist, so a repeated delete is harmless.
    await Promise.all(fileNames.map((name) => this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.keyOf(name) }))));
  }

  urlOf(fileName: string): string {
    return this.config.publicBaseUrl ? `${this.config.publicBaseUrl}/${this.keyOf(fileName)}` : `${LOCAL_AVATAR_ROUTE}/${fileName}`;
  }

  async deliver(fileName: string): Promise<AvatarDelivery> {
    if (this.config.publicBaseUrl) return { kind: 'redirect', url: this.urlOf(fileName), cacheControl: IMMUTABLE_CACHE };
    const ttl = this.config.signedUrlTtlSeconds;
    const url = await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.config.bucket, Key: this.keyOf(fileName) }), { expiresIn: ttl });
    // A cached redirect must not outlive the signature it points at.
    return { kind: 'redirect', url, cacheControl: `private, max-age=${Math.floor(ttl / 2)}` };
  }

  private keyOf(fileName: string): string {
    return `${this.config.keyPrefix}${fileName}`;
  }
}
