import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

/** Production dependencies nothing imports by name, and why each is still needed. */
const PEERS: Record<string, string> = {
  '@fastify/static': "@nestjs/swagger serves Swagger UI's assets with it on Fastify",
  rxjs: "a peer dependency of @nestjs/common and @nestjs/core",
  '@expo-google-fonts/bitter': 'a .ttf the raster captcha reads from disk (CAPTCHA_FONT_FILES, src/modules/human-check/image/raster-captcha.renderer.ts)',
  '@expo-google-fonts/courier-prime': 'a .ttf the raster captcha reads from disk (CAPTCHA_FONT_FILES, src/modules/human-check/image/raster-captcha.renderer.ts)',
  '@expo-google-fonts/oswald': 'a .ttf the raster captcha reads from disk (CAPTCHA_FONT_FILES, src/modules/human-check/image/raster-captcha.renderer.ts)',
  '@expo-google-fonts/patrick-hand': 'a .ttf the raster captcha reads from disk (CAPTCHA_FONT_FILES, src/modules/human-check/image/raster-captcha.renderer.ts)',
  '@expo-google-fonts/roboto-slab': 'a .ttf the raster captcha reads from disk (CAPTCHA_FONT_FILES, src/modules/human-check/image/raster-captcha.renderer.ts)',
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|js)$/.test(name) ? [path] : [];
  });
}

describe('package.json dependencies', () => {
  const dependencies = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  const code = ['src', 'scripts', 'clients'].flatMap((dir) => sources(join(ROOT, dir))).map((file) => readFileSync(file, 'utf8')).join('\n');
  const imported = (name: string) => new RegExp(`(from |require\\()'${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(/[^']*)?'`).test(code);

  it('are each imported somewhere (an unused one, like cache-manager was, is removed)', () => {
    expect(imported('typeorm')).toBe(true); // the scan itself works
    expect(dependencies.filter((name) => !imported(name) && !PEERS[name])).toEqual([]);
  });

  it('do not include cache-manager: the KvStore port replaces it (docs/design.md)', () => {
    expect(dependencies).not.toContain('cache-manager');
  });
});
