import type SharpModule from 'sharp';

let loaded: typeof SharpModule | null = null;

/**
 * sharp (libvips) is loaded on first use, not at import: it adds about 18 MB of resident memory, and
 * loading it queues work on the libuv pool, which must start only after main.ts has found the pool's
 * threads to lower their priority (runtime-tuning.ts). Avatars and the raster captcha both draw through this.
 */
export function sharp(...args: Parameters<typeof SharpModule>): ReturnType<typeof SharpModule> {
  if (!loaded) {
    loaded = require('sharp') as typeof SharpModule;
    // libvips' operation cache would keep decoded user uploads in memory between requests.
    loaded.cache(false);
  }
  return loaded(...args);
}
