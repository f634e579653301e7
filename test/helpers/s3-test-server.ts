import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

/**
 * A small but real S3 server for tests, on loopback: path-style PUT, GET, HEAD and DELETE of
 * objects, every request authenticated by AWS Signature Version 4 exactly as S3 does it (the
 * Authorization header, or a presigned query string), payload hashes and CRC32 checksums
 * checked. Written here because the pure-npm S3 fakes either skip SigV4 verification
 * altogether (s3rver 3.x: "V4 calculation is unimplemented") or need Node 24.
 */
export interface S3TestServerOptions {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  buckets: string[];
  /** Buckets whose objects anyone may GET without a signature (a "public" bucket). */
  publicReadBuckets?: string[];
}

export interface StoredObject {
  body: Buffer;
  contentType: string | null;
  cacheControl: string | null;
}

export interface S3Request {
  method: string;
  bucket: string | null;
  key: string | null;
  auth: 'header' | 'presigned' | 'anonymous';
  status: number;
  error?: string;
}

export interface S3TestServer {
  endpoint: string;
  /** `bucket/key` → object. */
  objects: Map<string, StoredObject>;
  requests: S3Request[];
  close(): Promise<void>;
}

class S3Error extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_CLOCK_SKEW_MS = 15 * 60_000;

/** RFC 3986 encoding, as SigV4 wants it (everything but unreserved characters). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function parseAmzDate(text: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) throw new S3Error(403, 'AccessDenied', 'X-Amz-Date is malformed');
  const [, y, mo, d, h, mi, s] = match.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

interface SignatureParts {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  presigned: boolean;
  expiresSeconds?: number;
}

function parseCredential(credential: string): Pick<SignatureParts, 'accessKeyId' | 'scopeDate' | 'region' | 'service'> {
  const [accessKeyId, scopeDate, region, service, terminator] = credential.split('/');
  if (!accessKeyId || !scopeDate || !region || !service || terminator !== 'aws4_request') throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The credential scope is malformed');
  return { accessKeyId, scopeDate, region, service };
}

function signatureParts(request: IncomingMessage, query: [string, string][]): SignatureParts | null {
  const header = request.headers.authorization;
  const queryValue = (name: string) => query.find(([key]) => key === name)?.[1];
  if (header) {
    const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(header);
    if (!match) throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The Authorization header is not AWS4-HMAC-SHA256');
    const amzDate = request.headers['x-amz-date'];
    const payloadHash = request.headers['x-amz-content-sha256'];
    if (typeof amzDate !== 'string') throw new S3Error(403, 'AccessDenied', 'X-Amz-Date is missing');
    if (typeof payloadHash !== 'string') throw new S3Error(400, 'InvalidRequest', 'x-amz-content-sha256 is missing');
    return { ...parseCredential(match[1]), signedHeaders: match[2].split(';'), signature: match[3], amzDate, payloadHash, presigned: false };
  }
  if (queryValue('X-Amz-Algorithm') !== undefined) {
    if (queryValue('X-Amz-Algorithm') !== ALGORITHM) throw new S3Error(400, 'AuthorizationQueryParametersError', 'Unsupported X-Amz-Algorithm');
    const credential = queryValue('X-Amz-Credential');
    const amzDate = queryValue('X-Amz-Date');
    const signedHeaders = queryValue('X-Amz-SignedHeaders');
    const signature = queryValue('X-Amz-Signature');
    const expires = Number(queryValue('X-Amz-Expires'));
    if (!credential || !amzDate || !signedHeaders || !signature || !Number.isInteger(expires)) {
      throw new S3Error(400, 'AuthorizationQueryParametersError', 'A presigned URL needs X-Amz-Credential, -Date, -Expires, -SignedHeaders and -Signature');
    }
    return { ...parseCredential(credential), signedHeaders: signedHeaders.split(';'), signature, amzDate, payloadHash: 'UNSIGNED-PAYLOAD', presigned: true, expiresSeconds: expires };
  }
  return null;
}

function verifySignature(options: S3TestServerOptions, request: IncomingMessage, rawPath: string, query: [string, string][], parts: SignatureParts): void {
  if (parts.accessKeyId !== options.accessKeyId) throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS access key id you provided does not exist in our records');
  if (parts.region !== options.region || parts.service !== 's3') throw new S3Error(400, 'AuthorizationHeaderMalformed', `The scope must name region ${options.region} and service s3`);
  if (!parts.amzDate.startsWith(parts.scopeDate)) throw new S3Error(403, 'SignatureDoesNotMatch', 'The scope date does not match X-Amz-Date');
  if (!parts.signedHeaders.includes('host')) throw new S3Error(403, 'AccessDenied', 'The host header must be signed');
  const signedAt = parseAmzDate(parts.amzDate);
  if (parts.presigned) {
    if (parts.expiresSeconds! < 1 || parts.expiresSeconds! > 604800) throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires must be 1..604800');
    if (Date.now() > signedAt + parts.expiresSeconds! * 1000) throw new S3Error(403, 'AccessDenied', 'Request has expired');
  } else if (Math.abs(Date.now() - signedAt) > MAX_CLOCK_SKEW_MS) {
    throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the server time is too large');
  }

  const canonicalQuery = query
    .filter(([name]) => !(parts.presigned && name === 'X-Amz-Signature'))
    .map(([name, value]) => [uriEncode(name), uriEncode(value)])
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalHeaders = parts.signedHeaders
    .map((name) => {
      const value = request.headers[name];
      if (value === undefined) throw new S3Error(403, 'SignatureDoesNotMatch', `Signed header ${name} is missing`);
      return `${name}:${(Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalRequest = [request.method, rawPath, canonicalQuery, canonicalHeaders, parts.signedHeaders.join(';'), parts.payloadHash].join('\n');
  const scope = `${parts.scopeDate}/${parts.region}/s3/aws4_request`;
  const stringToSign = [ALGORITHM, parts.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const dateKey = hmac(`AWS4${options.secretAccessKey}`, parts.scopeDate);
  const signingKey = hmac(hmac(hmac(dateKey, parts.region), 's3'), 'aws4_request');
  const expected = Buffer.from(hmac(signingKey, stringToSign).toString('hex'));
  const given = Buffer.from(parts.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided');
  }
}

function verifyPayload(request: IncomingMessage, payloadHash: string, body: Buffer): void {
  if (payloadHash.startsWith('STREAMING-')) throw new S3Error(501, 'NotImplemented', 'aws-chunked uploads are not supported by this test server');
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256Hex(body)) {
    throw new S3Error(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed');
  }
  const checksum = request.headers['x-amz-checksum-crc32'];
  if (typeof checksum === 'string') {
    const computed = Buffer.alloc(4);
    computed.writeUInt32BE(crc32(body));
    if (computed.toString('base64') !== checksum) throw new S3Error(400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum');
  }
}

function sendError(response: ServerResponse, error: S3Error): void {
  response.writeHead(error.status, { 'Content-Type': 'application/xml' });
  response.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${error.message}</Message></Error>`);
}

/** Starts the server on 127.0.0.1 on a free port. */
export async function startS3TestServer(options: S3TestServerOptions): Promise<S3TestServer> {
  const objects = new Map<string, StoredObject>();
  const requests: S3Request[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const rawPath = queryStart < 0 ? url : url.slice(0, queryStart);
    const query = [...new URLSearchParams(queryStart < 0 ? '' : url.slice(queryStart + 1))];
    const [, rawBucket, ...rawKey] = rawPath.split('/');
    const bucket = rawBucket ? decodeURIComponent(rawBucket) : null;
    const key = rawKey.length ? decodeURIComponent(rawKey.join('/')) : null;
    const record: S3Request = { method: request.method ?? '', bucket, key, auth: 'anonymous', status: 200 };
    requests.push(record);
    try {
      const body = await readBody(request);
      const parts = signatureParts(request, query);
      if (parts) {
        record.auth = parts.presigned ? 'presigned' : 'header';
        verifySignature(options, request, rawPath, query, parts);
        verifyPayload(request, parts.payloadHash, body);
      } else if (!(request.method === 'GET' && bucket && options.publicReadBuckets?.includes(bucket))) {
        throw new S3Error(403, 'AccessDenied', 'Access Denied');
      }
      if (!bucket || !options.buckets.includes(bucket)) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
      if (!key) throw new S3Error(501, 'NotImplemented', 'Only object operations are supported');
      const id = `${bucket}/${key}`;
      switch (request.method) {
        case 'PUT': {
          objects.set(id, { body, contentType: request.headers['content-type'] ?? null, cacheControl: (request.headers['cache-control'] as string | undefined) ?? null });
          response.writeHead(200, { ETag: `"${createHash('md5').update(body).digest('hex')}"` });
          response.end();
          return;
        }
        case 'GET':
        case 'HEAD': {
          const object = objects.get(id);
          if (!object) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
          response.writeHead(200, {
            'Content-Length': object.body.length,
            ETag: `"${createHash('md5').update(object.body).digest('hex')}"`,
            ...(object.contentType ? { 'Content-Type': object.contentType } : {}),
            ...(object.cacheControl ? { 'Cache-Control': object.cacheControl } : {}),
          });
          response.end(request.method === 'GET' ? object.body : undefined);
          return;
        }
        case 'DELETE':
          objects.delete(id);
          record.status = 204;
          response.writeHead(204);
          response.end();
          return;
        default:
          throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      }
    } catch (error) {
      const s3Error = error instanceof S3Error ? error : new S3Error(500, 'InternalError', (error as Error).message);
      record.status = s3Error.status;
      record.error = s3Error.code;
      sendError(response, s3Error);
    }
  };

  const server: Server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
