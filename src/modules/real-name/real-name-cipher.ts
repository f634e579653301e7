import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RealNameKeys } from './real-name-keys';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type SealedField = 'real_name' | 'id_card' | 'totp_secret' | 'webhook_secret';

/**
 * AES-256-GCM for the name and number (a fresh random 96-bit IV per value; stored as
 * base64(iv | ciphertext | tag) beside the key id), and an HMAC-SHA-256 blind index that finds
 * an ID number without decrypting anything. The additional data binds each ciphertext to its
 * account and field, so a value copied into another row or column does not decrypt.
 */
@Injectable()
export class RealNameCipher {
  constructor(private readonly keys: RealNameKeys) {}

  get currentKeyId(): string {
    return this.keys.current.id;
  }

  seal(plaintext: string, field: SealedField, userId: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.keys.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.aad(field, userId));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64');
  }

  open(sealed: string, keyId: string, field: SealedField, userId: string): string {
    const key = this.keys.byId.get(keyId);
    if (!key) throw new Error(`Real-name key "${keyId}" is not configured (REAL_NAME_ENCRYPTION_KEYS)`);
    const bytes = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv(ALGORITHM, key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(this.aad(field, userId));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  }

  /** The same number always gives the same index; without the key it reveals nothing. */
  blindIndex(idCardNumber: string): string {
    return this.digest('id-card', idCardNumber);
  }

  /** A keyed digest for other secrets kept only to be recognised (recovery codes), separated by `purpose`. */
  digest(purpose: string, value: string): string {
    return createHmac('sha256', this.keys.indexKey).update(`${purpose}:${value}`).digest('hex');
  }

  private aad(field: SealedField, userId: string): Buffer {
    return Buffer.from(`user-centre:real-name:v1:${field}:${userId}`);
  }
}
