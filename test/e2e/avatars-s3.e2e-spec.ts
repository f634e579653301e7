import sharp from 'sharp';
import { avatarFileName, smallAvatarName, uploadAvatar } from '../factories/avatars';
import { testImage } from '../factories/images';
import { DEFAULT_PASSWORD, signedInUser } from '../factories/users';
import { startS3TestServer, S3TestServer } from '../helpers/s3-test-server';
import { createTestApp, TestApp } from '../helpers/test-app';

// The SDK's notice that its 2027 releases will need Node 22 (the versions used here are pinned): not test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const CREDENTIALS = { accessKeyId: 'AKIDUSERCENTRETEST', secretAccessKey: 'k3y/with+special=chars' };
const REGION = 'cn-north-1';

function s3Env(server: S3TestServer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AVATAR_STORAGE: 's3',
    S3_ENDPOINT: server.endpoint,
    S3_REGION: REGION,
    S3_BUCKET: 'media',
    S3_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    ...extra,
  };
}

describe('Avatars on S3-compatible storage (a SigV4-checking S3 server on loopback)', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3TestServer({ ...CREDENTIALS, region: REGION, buckets: ['media', 'public-media'], publicReadBuckets: ['public-media'] });
  });
  afterAll(() => server.close());

  describe('with a private bucket (presigned URLs)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(s3Env(server, { S3_SIGNED_URL_TTL: '600' }));
    });
    afterAll(() => t.close());

    it('stores both sizes as signed PUTs and serves them through a redirect to a presigned URL', async () => {
      const user = await signedInUser(t);
      const upload = await uploadAvatar(t, user.auth, await testImage('jpeg', 300, 200), { contentType: 'image/jpeg' }).expect(201);
      const url: string = upload.body.data.avatarUrl;
      expect(url).toMatch(/^\/api\/v1\/avatars\/[0-9a-f]{32}\.webp$/);
      const name = avatarFileName(url);

      for (const [file, size] of [[name, 256], [smallAvatarName(name), 64]] as const) {
        const object = server.objects.get(`media/avatars/${file}`);
        expect(object).toMatchObject({ contentType: 'image/webp', cacheControl: 'public, max-age=31536000, immutable' });
        expect(await sharp(object!.body).metadata()).toMatchObject({ format: 'webp', width: size, height: size });
      }
      const puts = server.requests.filter((r) => r.method === 'PUT' && r.key?.includes(name.slice(0, 32)));
      expect(puts).toHaveLength(2);
      expect(puts.every((r) => r.auth === 'header' && r.status === 200)).toBe(true);

      const redirect = await t.http.get(url).expect(302);
      expect(redirect.headers['cache-control']).toBe('private, max-age=300');
      const location = new URL(redirect.headers.location);
      expect(location.origin).toBe(server.endpoint);
      expect(location.pathname).toBe(`/media/avatars/${name}`);
      expect(location.searchParams.get('X-Amz-Expires')).toBe('600');
      const fetched = await fetch(location);
      expect(fetched.status).toBe(200);
      expect(Buffer.from(await fetched.arrayBuffer()).equals(server.objects.get(`media/avatars/${name}`)!.body)).toBe(true);

      // The server really checks the signature: a tampered one is refused.
      location.searchParams.set('X-Amz-Signature', '0'.repeat(64));
      expect((await fetch(location)).status).toBe(403);
      const me = await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
      expect(me.body.data.avatarUrl).toBe(url);
    });

    it('deletes the old objects on replacement and the current ones on account deletion', async () => {
      const user = await signedInUser(t);
      const first = avatarFileName((await uploadAvatar(t, user.auth, await testImage('png')).expect(201)).body.data.avatarUrl);
      const second = avatarFileName((await uploadAvatar(t, user.auth, await testImage('webp'), { contentType: 'image/webp' }).expect(201)).body.data.avatarUrl);
      expect(server.objects.has(`media/avatars/${first}`)).toBe(false);
      expect(server.objects.has(`media/avatars/${smallAvatarName(first)}`)).toBe(false);
      expect(server.objects.has(`media/avatars/${second}`)).toBe(true);
      expect(server.requests.filter((r) => r.method === 'DELETE' && r.key?.includes(first.slice(0, 32))).every((r) => r.status === 204)).toBe(true);

      await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
      expect(server.objects.has(`media/avatars/${second}`)).toBe(false);
      expect(server.objects.has(`media/avatars/${smallAvatarName(second)}`)).toBe(false);
    });

    it('still refuses bad names on the serving route without asking the bucket', async () => {
      const before = server.requests.length;
      await t.http.get('/api/v1/avatars/..%2f..%2fother-bucket%2fsecret').expect(404);
      await t.http.get('/api/v1/avatars/not-an-avatar.webp').expect(404);
      expect(server.requests.length).toBe(before);
    });
  });

  it('answers 503 and keeps the old avatar when the storage refuses the upload (wrong secret)', async () => {
    const t = await createTestApp(s3Env(server, { S3_SECRET_ACCESS_KEY: 'not-the-right-secret' }));
    try {
      const user = await signedInUser(t);
      const before = server.requests.length;
      const response = await uploadAvatar(t, user.auth, await testImage('png')).expect(503);
      expect(response.body.error).toBe('SERVICE_UNAVAILABLE');
      const refused = server.requests.slice(before).filter((r) => r.method === 'PUT');
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((r) => r.error === 'SignatureDoesNotMatch')).toBe(true);
      const me = await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
      expect(me.body.data.avatarUrl).toBeNull();
    } finally {
      await t.close();
    }
  });

  it('points avatarUrl straight at a public bucket when S3_PUBLIC_BASE_URL is set', async () => {
    const t = await createTestApp(s3Env(server, { S3_BUCKET: 'public-media', S3_PUBLIC_BASE_URL: `${server.endpoint}/public-media/`, S3_KEY_PREFIX: 'u/avatars/' }));
    try {
      const user = await signedInUser(t);
      const url: string = (await uploadAvatar(t, user.auth, await testImage('gif', 64, 64), { contentType: 'image/gif' }).expect(201)).body.data.avatarUrl;
      expect(url).toMatch(new RegExp(`^${server.endpoint}/public-media/u/avatars/[0-9a-f]{32}\\.webp$`));
      const fetched = await fetch(url);
      expect(fetched.status).toBe(200);
      expect(fetched.headers.get('content-type')).toBe('image/webp');
      expect(await sharp(Buffer.from(await fetched.arrayBuffer())).metadata()).toMatchObject({ format: 'webp', width: 256, height: 256 });
      const redirect = await t.http.get(`/api/v1/avatars/${avatarFileName(url)}`).expect(302);
      expect(redirect.headers.location).toBe(url);
    } finally {
      await t.close();
    }
  });
});
