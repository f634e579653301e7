// A software WebAuthn authenticator for tests, written from the WebAuthn Level 3 spec with node:crypto:
// ES256 (P-256) keys, authenticatorData (§6.1), clientDataJSON (§5.8.1), a 'none' attestation object
// (§8.7) in CBOR (RFC 8949; the few maps it needs are encoded by hand below) and assertion signatures
// over authenticatorData ‖ SHA-256(clientDataJSON) (§6.3.3). It answers the JSON forms the browser's
// PublicKeyCredential.toJSON() gives, and lets a test bend any rule: origin, RP ID, counter, flags.
import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';

// ---- CBOR, just enough: unsigned and negative integers, byte and text strings, maps ----
function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
  const out = Buffer.alloc(5);
  out[0] = (major << 5) | 26;
  out.writeUInt32BE(length, 1);
  return out;
}

type Cbor = number | string | Buffer | Map<Cbor, Cbor>;

export function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  const parts: Buffer[] = [head(5, value.size)];
  for (const [key, item] of value) parts.push(cbor(key), cbor(item));
  return Buffer.concat(parts);
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

export interface SoftCredential {
  id: Buffer;
  privateKey: KeyObject;
  /** COSE_Key (RFC 9053 EC2, alg ES256). */
  cosePublicKey: Buffer;
  /** Where the next assertion's counter starts; tests set it back to prove regressions are refused. */
  counter: number;
  /** The user handle given at registration (base64url), returned by discoverable assertions. */
  userHandle: string;
}

export interface CeremonyOverrides {
  origin?: string;
  rpId?: string;
  /** Challenge to sign instead of the options' one. */
  challenge?: string;
  userVerified?: boolean;
  userPresent?: boolean;
  /** The counter to report (default: the credential's counter, incremented first). */
  counter?: number;
  /** For assertions: sign with this key instead (a credential that is not the registered one). */
  signWith?: KeyObject;
  type?: string;
}

/** What navigator.credentials.create() and .get() answer, as JSON (the browser's toJSON()). */
export interface RegistrationJson {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports: ('internal' | 'hybrid' | 'usb')[] };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment: 'platform';
}

export interface AssertionJson {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment: 'platform';
}

function rpIdHash(rpId: string): Buffer {
  return createHash('sha256').update(rpId).digest();
}

function clientData(type: string, challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
}

function counterBytes(counter: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(counter >>> 0);
  return out;
}

/**
 * One software authenticator: resident keys, user verification, a signature counter per credential
 * (every assertion adds 1, as a hardware key does), origin `origin`.
 */
export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  readonly aaguid = randomBytes(16);

  constructor(
    readonly origin: string,
    readonly rpId = 'localhost',
  ) {}

  /** Answers creation options (the `data` of POST /users/me/passkeys/options) with a new ES256 credential. */
  register(options: { challenge: string; rp: { id?: string }; user: { id: string } }, overrides: CeremonyOverrides = {}): { json: RegistrationJson; credential: SoftCredential } {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cosePublicKey = cbor(
      new Map<Cbor, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const id = randomBytes(32);
    const credential: SoftCredential = { id, privateKey, cosePublicKey, counter: overrides.counter ?? 0, userHandle: options.user.id };
    const flags = (overrides.userPresent === false ? 0 : FLAG_UP) | (overrides.userVerified === false ? 0 : FLAG_UV) | FLAG_BE | FLAG_BS | FLAG_AT;
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([rpIdHash(overrides.rpId ?? this.rpId), Buffer.from([flags]), counterBytes(credential.counter), this.aaguid, idLength, id, cosePublicKey]);
    const attestationObject = cbor(new Map<Cbor, Cbor>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    const data = clientData(overrides.type ?? 'webauthn.create', overrides.challenge ?? options.challenge, overrides.origin ?? this.origin);
    this.credentials.push(credential);
    return {
      credential,
      json: {
        id: id.toString('base64url'),
        rawId: id.toString('base64url'),
        type: 'public-key',
        response: { clientDataJSON: data.toString('base64url'), attestationObject: attestationObject.toString('base64url'), transports: ['internal'] },
        clientExtensionResults: { credProps: { rk: true } },
        authenticatorAttachment: 'platform',
      },
    };
  }

  /** Answers request options with `credential` (default: the first one this authenticator made). */
  assert(options: { challenge: string }, credential: SoftCredential = this.credentials[0], overrides: CeremonyOverrides = {}): AssertionJson {
    const counter = overrides.counter ?? ++credential.counter;
    const flags = (overrides.userPresent === false ? 0 : FLAG_UP) | (overrides.userVerified === false ? 0 : FLAG_UV) | FLAG_BE | FLAG_BS;
    const authData = Buffer.concat([rpIdHash(overrides.rpId ?? this.rpId), Buffer.from([flags]), counterBytes(counter)]);
    const data = clientData(overrides.type ?? 'webauthn.get', overrides.challenge ?? options.challenge, overrides.origin ?? this.origin);
    const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(data).digest()]), overrides.signWith ?? credential.privateKey);
    return {
      id: credential.id.toString('base64url'),
      rawId: credential.id.toString('base64url'),
      type: 'public-key',
      response: { clientDataJSON: data.toString('base64url'), authenticatorData: authData.toString('base64url'), signature: signature.toString('base64url'), userHandle: credential.userHandle },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
