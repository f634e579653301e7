import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { avatarFileName, smallAvatarName, uploadAvatar } from '../factories/avatars';
import { MIME, pngBomb, SVG_IMAGE, testImage, TestImageFormat } from '../factories/images';
import { DEFAULT_PASSWORD, signedInUser } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

const AVATAR_URL = /^\/api\/v1\/avatars\/[0-9a-f]{32}\.webp$/;

function storedFiles(t: TestApp): string[] {
  const folder = join(t.dataDir, 'avatars');
  return existsSync(folder) ? readdirSync(folder).sort() : [];
}

describe('Avatars on local storage', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AVATAR_UPLOADS_PER_HOUR: '1000' });
  });
  afterAll(() => t.close());

  describe('accepted images', () => {
    it.each<TestImageFormat>(['jpeg', 'png', 'webp', 'gif'])('re-encodes a %s into square, metadata-free WebPs at 256 and 64 px', async (format) => {
      const user = await signedInUser(t);
      const upload = await uploadAvatar(t, user.auth, await testImage(format, 120, 90), { filename: `me.${format}`, contentType: MIME[format] }).expect(201);
      expect(upload.body).toEqual({ code: 201, data: { avatarUrl: expect.stringMatching(AVATAR_URL) }, msg: 'Avatar updated' });
      const url: string = upload.body.data.avatarUrl;

      const me = await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
      expect(me.body.data.avatarUrl).toBe(url);
      const profile = await t.http.get(`/api/v1/users/${user.username}`).expect(200);
      expect(profile.body.data.avatarUrl).toBe(url);

      for (const [path, size] of [[url, 256], [url.replace(/\.webp$/, '-64.webp'), 64]] as const) {
        const served = await t.http.get(path).expect(200);
        expect(served.headers['content-type']).toBe('image/webp');
        expect(served.headers['x-content-type-options']).toBe('nosniff');
        expect(served.headers['cache-control']).toBe('public, max-age=31536000, immutable');
        const meta = await sharp(served.body as Buffer).metadata();
        expect(meta).toMatchObject({ format: 'webp', width: size, height: size });
        expect(meta.exif).toBeUndefined();
        expect(meta.icc).toBeUndefined();
      }
    });

    it('strips metadata: nothing of the uploaded file is served as-is', async () => {
      const user = await signedInUser(t);
      const original = await testImage('jpeg', 300, 300, { exifText: 'GPS-SECRET-LOCATION' });
      expect(original.includes('GPS-SECRET-LOCATION')).toBe(true);
      const upload = await uploadAvatar(t, user.auth, original, { filename: 'me.jpg', contentType: 'image/jpeg' }).expect(201);
      const served: Buffer = (await t.http.get(upload.body.data.avatarUrl).expect(200)).body;
      expect(served.includes('GPS-SECRET-LOCATION')).toBe(false);
      expect(served.equals(original)).toBe(false);
      const name = avatarFileName(upload.body.data.avatarUrl);
      for (const file of [name, smallAvatarName(name)]) expect(storedFiles(t)).toContain(file);
    });

    it('judges the type by the bytes, not by the name or declared type', async () => {
      const user = await signedInUser(t);
      await uploadAvatar(t, user.auth, await testImage('png'), { filename: 'photo.jpg', contentType: 'application/octet-stream' }).expect(201);
    });

    it('accepts a file bigger than the 1 MiB JSON body limit (the upload has its own limit)', async () => {
      const user = await signedInUser(t);
      const image = await testImage('png', 200, 200);
      // Bytes after PNG's IEND chunk are ignored by decoders: a valid 1.5 MiB file.
      const padded = Buffer.concat([image, Buffer.alloc(1536 * 1024 - image.length)]);
      await uploadAvatar(t, user.auth, padded).expect(201);
    });

    it('accepts the smallest allowed size, 32×32', async () => {
      const user = await signedInUser(t);
      await uploadAvatar(t, user.auth, await testImage('png', 32, 32)).expect(201);
    });
  });

  describe('refused uploads', () => {
    let auth: Record<string, string>;
    beforeAll(async () => {
      auth = (await signedInUser(t)).auth;
    });
    afterAll(async () => {
      const me = await t.http.get('/api/v1/users/me').set(auth).expect(200);
      expect(me.body.data.avatarUrl).toBeNull();
    });

    it('refuses SVG, even named and declared as PNG', async () => {
      for (const contentType of ['image/svg+xml', 'image/png']) {
        const response = await uploadAvatar(t, auth, SVG_IMAGE, { filename: 'avatar.png', contentType }).expect(415);
        expect(response.body.error).toBe('AVATAR_UNSUPPORTED_TYPE');
      }
    });

    it('refuses a text file renamed .png', async () => {
      const response = await uploadAvatar(t, auth, Buffer.from('just some text, not an image at all\n'.repeat(20)), { filename: 'notes.png' }).expect(415);
      expect(response.body.error).toBe('AVATAR_UNSUPPORTED_TYPE');
    });

    it('refuses other real image formats (TIFF)', async () => {
      const tiff = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } }).tiff().toBuffer();
      const response = await uploadAvatar(t, auth, tiff, { filename: 'a.png' }).expect(415);
      expect(response.body.error).toBe('AVATAR_UNSUPPORTED_TYPE');
    });

    it.each<TestImageFormat>(['png', 'jpeg', 'webp', 'gif'])('refuses a truncated %s with 400', async (format) => {
      const whole = await testImage(format, 200, 200);
      const response = await uploadAvatar(t, auth, whole.subarray(0, Math.floor(whole.length / 2)), { contentType: MIME[format] }).expect(400);
      expect(response.body.error).toBe('AVATAR_IMAGE_INVALID');
    });

    it('refuses a PNG whose data is garbage after a valid signature', async () => {
      const garbage = Buffer.concat([(await testImage('png')).subarray(0, 8), Buffer.alloc(500, 0x41)]);
      const response = await uploadAvatar(t, auth, garbage).expect(400);
      expect(response.body.error).toBe('AVATAR_IMAGE_INVALID');
    });

    it('refuses images under 32×32', async () => {
      for (const [width, height] of [[31, 31], [31, 400], [400, 16]]) {
        const response = await uploadAvatar(t, auth, await testImage('png', width, height)).expect(400);
        expect(response.body.error).toBe('AVATAR_TOO_SMALL');
      }
    });

    it('refuses a decompression bomb (a tiny PNG declaring 20000×20000 pixels) without decoding it', async () => {
      const bomb = pngBomb(20000, 20000);
      expect(bomb.length).toBeLessThan(2048);
      const started = Date.now();
      const response = await uploadAvatar(t, auth, bomb).expect(400);
      expect(response.body.error).toBe('AVATAR_TOO_MANY_PIXELS');
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('refuses a file over 5 MiB with 413', async () => {
      const big = Buffer.concat([await testImage('png'), Buffer.alloc(5 * 1024 * 1024 + 1 - (await testImage('png')).length)]);
      expect(big.length).toBe(5 * 1024 * 1024 + 1);
      const response = await uploadAvatar(t, auth, big).expect(413);
      expect(response.body.error).toBe('AVATAR_TOO_LARGE');
    });

    it('refuses a body declaring more than the limit before reading it', async () => {
      const server = t.app.getHttpServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      // Declares 50 MiB but sends a few bytes: the answer must come without waiting for the rest.
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/v1/users/me/avatar',
          headers: { ...auth, 'Content-Type': 'multipart/form-data; boundary=xyz', 'Content-Length': String(50 * 1024 * 1024) },
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
            req.destroy();
          });
        });
        req.on('error', reject);
        req.write('--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n');
      }).finally(() => new Promise((resolve) => server.close(resolve)));
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body).error).toBe('AVATAR_TOO_LARGE');
    });

    it('refuses a non-multipart request with 415', async () => {
      const json = await t.http.post('/api/v1/users/me/avatar').set(auth).send({ file: 'aGVsbG8=' }).expect(415);
      expect(json.body.error).toBe('AVATAR_MULTIPART_REQUIRED');
      const empty = await t.http.post('/api/v1/users/me/avatar').set(auth).expect(415);
      expect(empty.body.error).toBe('AVATAR_MULTIPART_REQUIRED');
      const raw = await t.http.post('/api/v1/users/me/avatar').set(auth).set('Content-Type', 'image/png').send(await testImage('png')).expect(415);
      expect(raw.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('refuses a file in another field, an empty file and a broken multipart body with 400', async () => {
      const wrongField = await uploadAvatar(t, auth, await testImage('png'), { field: 'avatar' }).expect(400);
      expect(wrongField.body.error).toBe('AVATAR_FILE_REQUIRED');
      const emptyFile = await uploadAvatar(t, auth, Buffer.alloc(0)).expect(400);
      expect(emptyFile.body.error).toBe('AVATAR_FILE_REQUIRED');
      const noFile = await t.http.post('/api/v1/users/me/avatar').set(auth).field('note', 'hello').expect(400);
      expect(noFile.body.error).toBe('AVATAR_FILE_REQUIRED');
      const noBoundary = await t.http.post('/api/v1/users/me/avatar').set(auth).set('Content-Type', 'multipart/form-data').send('garbage').expect(400);
      expect(noBoundary.body.error).toBe('AVATAR_UPLOAD_MALFORMED');
      const cutShort = await t.http
        .post('/api/v1/users/me/avatar')
        .set(auth)
        .set('Content-Type', 'multipart/form-data; boundary=xyz')
        .send('--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG')
        .expect(400);
      expect(cutShort.body.error).toBe('AVATAR_UPLOAD_MALFORMED');
    });

    it('needs a signed-in caller', async () => {
      const response = await uploadAvatar(t, {}, await testImage('png')).expect(401);
      expect(response.body.error).toBe('UNAUTHENTICATED');
    });

    it('leaves multipart bodies refused (415) on every other route', async () => {
      const response = await t.http.post('/api/v1/auth/login').field('identifier', 'someone').field('password', 'x').expect(415);
      expect(response.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('files', () => {
    it('deletes the old files when the avatar is replaced', async () => {
      const user = await signedInUser(t);
      const first = avatarFileName((await uploadAvatar(t, user.auth, await testImage('png')).expect(201)).body.data.avatarUrl);
      expect(storedFiles(t)).toEqual(expect.arrayContaining([first, smallAvatarName(first)]));
      const second = avatarFileName((await uploadAvatar(t, user.auth, await testImage('gif', 80, 80), { contentType: 'image/gif' }).expect(201)).body.data.avatarUrl);
      expect(second).not.toBe(first);
      expect(storedFiles(t)).toEqual(expect.arrayContaining([second, smallAvatarName(second)]));
      expect(storedFiles(t)).not.toContain(first);
      expect(storedFiles(t)).not.toContain(smallAvatarName(first));
      const gone = await t.http.get(`/api/v1/avatars/${first}`).expect(404);
      expect(gone.body.error).toBe('AVATAR_NOT_FOUND');
      await t.http.get(`/api/v1/avatars/${smallAvatarName(first)}`).expect(404);
    });

    it('deletes the files when the account is deleted', async () => {
      const user = await signedInUser(t);
      const name = avatarFileName((await uploadAvatar(t, user.auth, await testImage('webp'), { contentType: 'image/webp' }).expect(201)).body.data.avatarUrl);
      expect(storedFiles(t)).toContain(name);
      await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
      expect(storedFiles(t)).not.toContain(name);
      expect(storedFiles(t)).not.toContain(smallAvatarName(name));
      await t.http.get(`/api/v1/avatars/${name}`).expect(404);
    });

    it('refuses a second upload while one is still being processed for the same user', async () => {
      const user = await signedInUser(t);
      await t.kv.set(`avatar-lock:${user.user.id}`, '1', 60_000);
      const response = await uploadAvatar(t, user.auth, await testImage('png')).expect(429);
      expect(response.headers['retry-after']).toBeDefined();
      await t.kv.delete(`avatar-lock:${user.user.id}`);
      await uploadAvatar(t, user.auth, await testImage('png')).expect(201);
    });
  });

  describe('the serving route', () => {
    let valid: string;
    beforeAll(async () => {
      const user = await signedInUser(t);
      valid = avatarFileName((await uploadAvatar(t, user.auth, await testImage('png')).expect(201)).body.data.avatarUrl);
      writeFileSync(join(t.dataDir, 'secret.txt'), 'TOP-SECRET-CONTENT');
    });

    it('answers 404 for a well-formed name that does not exist', async () => {
      const response = await t.http.get(`/api/v1/avatars/${'0'.repeat(32)}.webp`).expect(404);
      expect(response.body.error).toBe('AVATAR_NOT_FOUND');
    });

    it('never serves a file outside the avatar folder', async () => {
      const attempts = [
        '/api/v1/avatars/..%2fsecret.txt',
        '/api/v1/avatars/..%2F..%2Fsecret.txt',
        '/api/v1/avatars/%2e%2e%2fsecret.txt',
        '/api/v1/avatars/%2e%2e%2f%2e%2e%2fkeys%2fjwt-private.pem',
        '/api/v1/avatars/..%2fkeys%2fjwt-private.pem',
        '/api/v1/avatars/..%5csecret.txt',
        '/api/v1/avatars/%252e%252e%252fsecret.txt',
        '/api/v1/avatars/../secret.txt',
        '/api/v1/avatars/../../etc/passwd',
        '/api/v1/avatars/%2Fetc%2Fpasswd',
        '/api/v1/avatars//etc/passwd',
        `/api/v1/avatars/${valid}%00.png`,
        `/api/v1/avatars/${valid.replace('.webp', '%00.webp')}`,
        `/api/v1/avatars/%00${valid}`,
        `/api/v1/avatars/${valid}/..%2f..%2fsecret.txt`,
        `/api/v1/avatars/${valid.toUpperCase()}`,
        '/api/v1/avatars/secret.txt',
        '/api/v1/avatars/%zz',
      ];
      for (const path of attempts) {
        const response = await t.http.get(path);
        expect([path, [400, 404].includes(response.status)]).toEqual([path, true]);
        expect(response.headers['content-type']).toContain('application/json');
        expect(response.text).not.toContain('TOP-SECRET-CONTENT');
        expect(response.text).not.toContain('PRIVATE KEY');
      }
      await t.http.get(`/api/v1/avatars/${valid}`).expect(200);
    });
  });
});

describe('Avatar limits are configurable', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AVATAR_MAX_BYTES: '20000', AVATAR_MAX_PIXELS: '10000', AVATAR_UPLOADS_PER_HOUR: '3' });
  });
  afterAll(() => t.close());

  it('AVATAR_MAX_BYTES: a file one byte over it gets 413, one of exactly that size passes', async () => {
    const user = await signedInUser(t);
    const small = await testImage('png', 64, 64);
    expect(small.length).toBeLessThan(20000);
    await uploadAvatar(t, user.auth, Buffer.concat([small, Buffer.alloc(20000 - small.length)])).expect(201);
    const response = await uploadAvatar(t, user.auth, Buffer.concat([small, Buffer.alloc(20001 - small.length)])).expect(413);
    expect(response.body.error).toBe('AVATAR_TOO_LARGE');
  });

  it('AVATAR_MAX_PIXELS: 100×101 pixels is one row too many for 10000', async () => {
    const user = await signedInUser(t);
    await uploadAvatar(t, user.auth, await testImage('webp', 100, 100), { contentType: 'image/webp' }).expect(201);
    const response = await uploadAvatar(t, user.auth, await testImage('webp', 100, 101), { contentType: 'image/webp' }).expect(400);
    expect(response.body.error).toBe('AVATAR_TOO_MANY_PIXELS');
  });

  it('AVATAR_UPLOADS_PER_HOUR: the next upload gets 429 with Retry-After until the hour has passed', async () => {
    const user = await signedInUser(t);
    const image = await testImage('jpeg', 64, 64);
    for (let i = 0; i < 3; i++) await uploadAvatar(t, user.auth, image).expect(201);
    const limited = await uploadAvatar(t, user.auth, image).expect(429);
    expect(limited.body.error).toBe('TOO_MANY_REQUESTS');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3000);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(3600);
    // Another user is not affected.
    await uploadAvatar(t, (await signedInUser(t)).auth, image).expect(201);
    await t.passTime(3600_000 + 1000);
    await uploadAvatar(t, user.auth, image).expect(201);
  });
});
