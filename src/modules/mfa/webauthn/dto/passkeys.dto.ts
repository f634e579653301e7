import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsObject, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength, ValidateNested } from 'class-validator';

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const base64url = (field: string) => ({ message: `${field} must be base64url` });
/** Credential ids are at most 1023 bytes (WebAuthn L3): 1364 base64url characters. */
const CREDENTIAL_ID_MAX = 1400;
const TRANSPORTS = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'] as const;

// ---- What the browser sends: PublicKeyCredential.toJSON() (WebAuthn Level 3), as @simplewebauthn/browser gives it too ----

/**
 * What PublicKeyCredential.toJSON() holds, the same at registration and at sign-in but for the
 * authenticator's `response` (an attestation or an assertion): one definition of the shared fields,
 * made per response type so that each schema keeps its own field order and examples.
 */
function PublicKeyCredentialJsonDto<R extends object>(responseType: new () => R, about: { response: string; extensionsExample: Record<string, unknown> }) {
  abstract class PublicKeyCredentialJson {
    @ApiProperty({ description: 'The credential id (base64url)', example: 'kR5PBz4Qh3YQ8m6VZ0nH3w' })
    @IsString()
    @Matches(BASE64URL, base64url('id'))
    @MaxLength(CREDENTIAL_ID_MAX)
    id: string;

    @ApiProperty({ description: 'The credential id again (base64url); must equal id', example: 'kR5PBz4Qh3YQ8m6VZ0nH3w' })
    @IsString()
    @Matches(BASE64URL, base64url('rawId'))
    @MaxLength(CREDENTIAL_ID_MAX)
    rawId: string;

    @ApiProperty({ description: 'Always public-key', enum: ['public-key'], example: 'public-key' })
    @IsIn(['public-key'])
    type: 'public-key';

    @ApiProperty({ type: responseType, description: about.response })
    @ValidateNested()
    @Type(() => responseType)
    response: R;

    @ApiPropertyOptional({ description: 'platform (built in) or cross-platform (a security key, a phone)', enum: ['platform', 'cross-platform'], example: 'platform' })
    @IsOptional()
    @IsIn(['platform', 'cross-platform'])
    authenticatorAttachment?: 'platform' | 'cross-platform';

    @ApiProperty({ description: 'The client extension results (getClientExtensionResults()); read, not trusted', type: 'object', additionalProperties: true, example: about.extensionsExample })
    @IsObject()
    clientExtensionResults: Record<string, unknown>;
  }
  return PublicKeyCredentialJson;
}

export class AttestationResponseDto {
  @ApiProperty({ description: 'The client data (base64url JSON: type, challenge, origin)', example: 'eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwi...' })
  @IsString()
  @Matches(BASE64URL, base64url('clientDataJSON'))
  @MaxLength(8192)
  clientDataJSON: string;

  @ApiProperty({ description: 'The attestation object (base64url CBOR)', example: 'o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVi...' })
  @IsString()
  @Matches(BASE64URL, base64url('attestationObject'))
  @MaxLength(65536)
  attestationObject: string;

  @ApiPropertyOptional({ description: 'The authenticator data (base64url); read from attestationObject, this copy is ignored', example: 'SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2NFAAAAAA...' })
  @IsOptional()
  @IsString()
  @Matches(BASE64URL, base64url('authenticatorData'))
  @MaxLength(65536)
  authenticatorData?: string;

  @ApiPropertyOptional({ description: 'How the authenticator can be reached', enum: TRANSPORTS, isArray: true, example: ['internal', 'hybrid'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(8)
  @IsIn(TRANSPORTS, { each: true })
  transports?: (typeof TRANSPORTS)[number][];

  @ApiPropertyOptional({ description: 'The COSE algorithm of the new key; read from attestationObject, this copy is ignored', example: -7 })
  @IsOptional()
  @IsInt()
  publicKeyAlgorithm?: number;

  @ApiPropertyOptional({ description: 'The public key (base64url SPKI); read from attestationObject, this copy is ignored', example: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...' })
  @IsOptional()
  @IsString()
  @Matches(BASE64URL, base64url('publicKey'))
  @MaxLength(8192)
  publicKey?: string;
}

export class RegistrationResponseDto extends PublicKeyCredentialJsonDto(AttestationResponseDto, {
  response: 'The authenticator attestation response',
  // A registration reports credProps: whether the new key is discoverable.
  extensionsExample: { credProps: { rk: true } },
}) {}

export class AssertionResponseDto {
  @ApiProperty({ description: 'The client data (base64url JSON: type, challenge, origin)', example: 'eyJ0eXBlIjoid2ViYXV0aG4uZ2V0Iiwi...' })
  @IsString()
  @Matches(BASE64URL, base64url('clientDataJSON'))
  @MaxLength(8192)
  clientDataJSON: string;

  @ApiProperty({ description: 'The authenticator data (base64url)', example: 'SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAABQ' })
  @IsString()
  @Matches(BASE64URL, base64url('authenticatorData'))
  @MaxLength(8192)
  authenticatorData: string;

  @ApiProperty({ description: 'The signature over authenticatorData and the hash of clientDataJSON (base64url)', example: 'MEUCIQDx...' })
  @IsString()
  @Matches(BASE64URL, base64url('signature'))
  @MaxLength(2048)
  signature: string;

  @ApiPropertyOptional({ description: 'The user handle of a discoverable credential (base64url); must name the credential\'s account', example: 'NWYwYzZjMWUtOGE1NS00ZDVj...', nullable: true, type: String })
  @IsOptional()
  @IsString()
  @Matches(BASE64URL, base64url('userHandle'))
  @MaxLength(128)
  userHandle?: string | null;
}

export class AuthenticationResponseDto extends PublicKeyCredentialJsonDto(AssertionResponseDto, { response: 'The authenticator assertion response', extensionsExample: {} }) {}

// ---- Request bodies ----

export class AddPasskeyDto {
  @ApiProperty({ type: RegistrationResponseDto, description: 'What navigator.credentials.create() answered to the options of POST /users/me/passkeys/options (PublicKeyCredential.toJSON())' })
  @ValidateNested()
  @Type(() => RegistrationResponseDto)
  response: RegistrationResponseDto;

  @ApiPropertyOptional({ description: 'A name for it (1–64 characters); default "Passkey"', example: 'Laptop' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  name?: string;
}

export class RenamePasskeyDto {
  @ApiProperty({ description: 'The new name (1–64 characters)', example: 'Work laptop' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  name: string;
}

export class MfaPasskeyOptionsDto {
  @ApiProperty({ description: 'The mfaToken from the sign-in answer', example: 'mfa_3q2+7w...' })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  mfaToken: string;
}

export class PasskeyLoginDto {
  @ApiProperty({ description: 'The challengeId from POST /auth/passkeys/options', example: '0b8f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d' })
  @IsUUID()
  challengeId: string;

  @ApiProperty({ type: AuthenticationResponseDto, description: 'What navigator.credentials.get() answered (PublicKeyCredential.toJSON())' })
  @ValidateNested()
  @Type(() => AuthenticationResponseDto)
  response: AuthenticationResponseDto;
}

// ---- Answers ----

/** A passkey as its owner sees it (never the key or credential id). */
export class PasskeySummaryDto {
  @ApiProperty({ description: 'Passkey id (for rename and delete)', example: '3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b' }) id: string;
  @ApiProperty({ description: 'The name the user gave it', example: 'Laptop' }) name: string;
  @ApiProperty({ description: 'When it was registered', example: '2026-01-01T08:00:00.000Z' }) createdAt: string;
  @ApiProperty({ description: 'When it last signed in or answered a second-factor challenge', example: '2026-01-02T08:00:00.000Z', nullable: true, type: String }) lastUsedAt: string | null;
}

export class NewPasskeyDto extends PasskeySummaryDto {
  @ApiPropertyOptional({ description: 'Ten single-use recovery codes, shown only now: present when this passkey is the first second factor of the account', type: [String], example: ['k7m2p-9xq4r'] })
  recoveryCodes?: string[];
}

export class RelyingPartyDto {
  @ApiProperty({ description: 'WEBAUTHN_RP_NAME', example: 'User Centre' }) name: string;
  @ApiProperty({ description: 'WEBAUTHN_RP_ID', example: 'localhost' }) id: string;
}

export class WebAuthnUserDto {
  @ApiProperty({ description: 'The user handle (base64url of the account id)', example: 'NWYwYzZjMWUtOGE1NS00ZDVj' }) id: string;
  @ApiProperty({ description: 'The username', example: 'alice_01' }) name: string;
  @ApiProperty({ description: 'The display name (or the username)', example: 'Alice' }) displayName: string;
}

export class CredentialParameterDto {
  @ApiProperty({ description: 'COSE algorithm: -8 EdDSA, -7 ES256, -257 RS256', example: -7 }) alg: number;
  @ApiProperty({ description: 'Always public-key', enum: ['public-key'], example: 'public-key' }) type: string;
}

export class CredentialDescriptorDto {
  @ApiProperty({ description: 'A credential id (base64url)', example: 'kR5PBz4Qh3YQ8m6VZ0nH3w' }) id: string;
  @ApiProperty({ description: 'Always public-key', enum: ['public-key'], example: 'public-key' }) type: string;
  @ApiPropertyOptional({ description: 'How it was reachable at registration', enum: TRANSPORTS, isArray: true, example: ['internal'] }) transports?: string[];
}

export class AuthenticatorSelectionDto {
  @ApiProperty({ description: 'Always required: passkeys are discoverable, so sign-in needs no username', enum: ['required'], example: 'required' }) residentKey: string;
  @ApiProperty({ description: 'Always true (the Level 1 form of residentKey)', example: true }) requireResidentKey: boolean;
  @ApiProperty({ description: 'Always required: a user-verified passkey is two factors', enum: ['required'], example: 'required' }) userVerification: string;
}

export class CreationOptionsDto {
  @ApiProperty({ description: 'Single-use, 5 minutes (base64url)', example: 'vrv2Ahx7fAb1n0vJMI4op7Va8G9SWOImYlXhHKf49aI' }) challenge: string;
  @ApiProperty({ type: RelyingPartyDto, description: 'The relying party' }) rp: RelyingPartyDto;
  @ApiProperty({ type: WebAuthnUserDto, description: 'The account' }) user: WebAuthnUserDto;
  @ApiProperty({ type: [CredentialParameterDto], description: 'Key types accepted' }) pubKeyCredParams: CredentialParameterDto[];
  @ApiProperty({ description: 'Milliseconds the browser may take', example: 300000 }) timeout: number;
  @ApiProperty({ description: 'Always none: no attestation is asked for', enum: ['none'], example: 'none' }) attestation: string;
  @ApiProperty({ type: [CredentialDescriptorDto], description: "The account's passkeys, so the same authenticator is not registered twice" }) excludeCredentials: CredentialDescriptorDto[];
  @ApiProperty({ type: AuthenticatorSelectionDto, description: 'What kind of authenticator' }) authenticatorSelection: AuthenticatorSelectionDto;
  @ApiPropertyOptional({ description: 'Extensions asked for (credProps)', type: 'object', additionalProperties: true, example: { credProps: true } }) extensions?: Record<string, unknown>;
  @ApiPropertyOptional({ description: 'Hints for the browser (none given)', type: [String], example: [] }) hints?: string[];
}

export class RequestOptionsDto {
  @ApiProperty({ description: 'Single-use, 5 minutes (base64url)', example: 'E__0m27tXVOY3XMNSYLRsRaFITkx_2CS5hmtLmcD2rY' }) challenge: string;
  @ApiProperty({ description: 'WEBAUTHN_RP_ID', example: 'localhost' }) rpId: string;
  @ApiProperty({ type: [CredentialDescriptorDto], description: "The account's passkeys; empty for a username-less sign-in (the browser offers the discoverable ones)" }) allowCredentials: CredentialDescriptorDto[];
  @ApiProperty({ description: 'Milliseconds the browser may take', example: 300000 }) timeout: number;
  @ApiProperty({ description: 'required for a sign-in by passkey alone and for step-up; preferred as a second factor after a password', enum: ['required', 'preferred'], example: 'required' }) userVerification: string;
}

export class PasskeyLoginOptionsDto {
  @ApiProperty({ description: 'Send it back with the answer to POST /auth/login/passkey (single-use, 5 minutes)', example: '0b8f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d' }) challengeId: string;
  @ApiProperty({ type: RequestOptionsDto, description: 'For navigator.credentials.get() (PublicKeyCredential.parseRequestOptionsFromJSON)' }) options: RequestOptionsDto;
}
