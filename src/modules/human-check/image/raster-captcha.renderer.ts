import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Injectable } from '@nestjs/common';
import * as opentype from 'opentype.js';
import { sharp } from '@/common/images/sharp';

/**
 * Font families shipped inside their npm packages (SIL OFL 1.1 / Apache 2.0): a slab serif, a
 * condensed sans, a typewriter face, a hand-drawn face and a serif, in two weights each where they
 * differ enough, so one character never has one reference shape.
 */
export const CAPTCHA_FONT_FILES = [
  '@expo-google-fonts/roboto-slab/400Regular/RobotoSlab_400Regular.ttf',
  '@expo-google-fonts/roboto-slab/700Bold/RobotoSlab_700Bold.ttf',
  '@expo-google-fonts/oswald/400Regular/Oswald_400Regular.ttf',
  '@expo-google-fonts/oswald/600SemiBold/Oswald_600SemiBold.ttf',
  '@expo-google-fonts/courier-prime/700Bold/CourierPrime_700Bold.ttf',
  '@expo-google-fonts/courier-prime/700Bold_Italic/CourierPrime_700Bold_Italic.ttf',
  '@expo-google-fonts/patrick-hand/400Regular/PatrickHand_400Regular.ttf',
  '@expo-google-fonts/bitter/500Medium/Bitter_500Medium.ttf',
  '@expo-google-fonts/bitter/800ExtraBold_Italic/Bitter_800ExtraBold_Italic.ttf',
];

/** Characters a person cannot confuse once case is ignored (no 0/o, 1/i/l, 5/s, 2/z, 6/8/b, 9/g/q). */
export const CAPTCHA_ALPHABET = 'abcdefhjkmnprtuvwxy347';

export const CAPTCHA_WIDTH = 200;
export const CAPTCHA_HEIGHT = 70;

type Point = [number, number];
type Warp = (point: Point) => Point;

/** A uniform draw in [min, max) from the CSPRNG, so nothing about one image predicts the next. */
function uniform(min: number, max: number): number {
  return min + (randomInt(0, 1 << 24) / (1 << 24)) * (max - min);
}

function pick<T>(items: readonly T[]): T {
  return items[randomInt(0, items.length)];
}

const fmt = (value: number) => value.toFixed(1);

/** A draw in [min, max); `uniform` in production, a fixed source in the spec. */
export type Draw = (min: number, max: number) => number;

/**
 * The bend of the whole line: two sine waves, one moving points across by their height and one up and down
 * by their x. Exported so the spec can check its amplitude and period at the ends of the random source.
 */
export function drawBend(draw: Draw = uniform): Warp {
  const waveA = { amp: draw(2.5, 5), freq: draw(0.02, 0.045), phase: draw(0, 2 * Math.PI) };
  const waveB = { amp: draw(2, 4.5), freq: draw(0.04, 0.08), phase: draw(0, 2 * Math.PI) };
  return ([x, y]) => [x + waveB.amp * Math.sin(y * waveB.freq + waveB.phase), y + waveA.amp * Math.sin(x * waveA.freq + waveA.phase)];
}

/**
 * One glyph's own distortion: turned by at most 28° either way (never upside down), sheared by at most 0.3,
 * squeezed or stretched across by 0.85 to 1.2, about the centre of its box, which lands within 4 px across of
 * its slot's centre and within 7 px of the image's middle line. Exported so the spec can check those bounds.
 */
export function drawGlyphTurn(box: { x1: number; y1: number; x2: number; y2: number }, slotCentre: number, draw: Draw = uniform): Warp {
  // Centre of the glyph box, so rotation and shear turn it in place.
  const cx = (box.x1 + box.x2) / 2;
  const cy = (box.y1 + box.y2) / 2;
  const angle = (draw(-28, 28) * Math.PI) / 180;
  const shear = draw(-0.3, 0.3);
  const squeeze = draw(0.85, 1.2);
  const originX = slotCentre + draw(-4, 4);
  const originY = CAPTCHA_HEIGHT / 2 + draw(-7, 7);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  return ([x, y]) => {
    const dx = (x - cx) * squeeze + (y - cy) * shear;
    const dy = y - cy;
    return [originX + dx * cos - dy * sin, originY + dx * sin + dy * cos];
  };
}

/** An opentype path as SVG path data, every point moved through `warp` (the outline never leaves the server). */
function warpedPathData(path: opentype.Path, warp: Warp): string {
  const parts: string[] = [];
  const at = (x: number, y: number) => warp([x, y]).map(fmt).join(' ');
  for (const command of path.commands) {
    switch (command.type) {
      case 'M':
      case 'L':
        parts.push(`${command.type}${at(command.x, command.y)}`);
        break;
      case 'Q':
        parts.push(`Q${at(command.x1, command.y1)} ${at(command.x, command.y)}`);
        break;
      case 'C':
        parts.push(`C${at(command.x1, command.y1)} ${at(command.x2, command.y2)} ${at(command.x, command.y)}`);
        break;
      case 'Z':
        parts.push('Z');
        break;
    }
  }
  return parts.join('');
}

/** One face's outlines for every character a captcha can show, in both cases, at a size of 1 px. */
type Face = ReadonlyMap<string, readonly opentype.PathCommand[]>;

let faces: Face[] | null = null;

/**
 * The outlines the captcha draws, read from the fonts on first use and kept for the life of the
 * process (every app instance in it shares them). Only these 44 outlines per face are kept, not
 * the parsed fonts: those held about 28 MB of heap for the 9 faces, these hold well under 1 MB.
 */
function captchaFaces(): Face[] {
  faces ??= CAPTCHA_FONT_FILES.map((file) => {
    const bytes = readFileSync(require.resolve(file));
    const font = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const characters = [...new Set([...CAPTCHA_ALPHABET.toLowerCase(), ...CAPTCHA_ALPHABET.toUpperCase()])];
    return new Map(characters.map((character) => [character, font.getPath(character, 0, 0, 1).commands]));
  });
  return faces;
}

/** A character's outline from one face, scaled to `size` px (a path, so its exact bounding box can be had). */
function outline(face: Face, character: string, size: number): opentype.Path {
  const path = new opentype.Path();
  for (const command of face.get(character) ?? []) {
    if (command.type === 'M') path.moveTo(command.x * size, command.y * size);
    else if (command.type === 'L') path.lineTo(command.x * size, command.y * size);
    else if (command.type === 'Q') path.quadraticCurveTo(command.x1 * size, command.y1 * size, command.x * size, command.y * size);
    else if (command.type === 'C') path.curveTo(command.x1 * size, command.y1 * size, command.x2 * size, command.y2 * size, command.x * size, command.y * size);
    else path.close();
  }
  return path;
}

/**
 * Draws a captcha as a PNG. Each character gets its own font, size, case, rotation, shear and
 * baseline; the whole line is then bent by two random waves, crossed by strokes in the text's own
 * colours and sprinkled with specks, and only the rasterised pixels leave the server. So no
 * character has a fixed shape or place to match against a reference set, and the glyphs touch, so
 * they do not come apart into one blob each.
 */
@Injectable()
export class RasterCaptchaRenderer {

  /** A random answer of `length` characters from the alphabet. */
  randomText(length = 5): string {
    return Array.from({ length }, () => pick([...CAPTCHA_ALPHABET])).join('');
  }

  /** About 3 ms of CPU (rasterising in libvips' threads, off the event loop), ~11 kB; a quantised palette would cost 3× the CPU to save bytes. */
  async render(text: string): Promise<Buffer> {
    return sharp(Buffer.from(this.svg(text))).png({ compressionLevel: 3 }).toBuffer();
  }

  /** The scene as SVG: only ever an intermediate step towards the PNG. */
  svg(text: string): string {
    const hue = randomInt(0, 360);
    const ink = () => `hsl(${(hue + randomInt(-40, 41) + 360) % 360},${randomInt(45, 80)}%,${randomInt(18, 38)}%)`;
    const bend = drawBend();

    const glyphs: string[] = [];
    const chars = [...text];
    const start = uniform(6, 14);
    const slot = (CAPTCHA_WIDTH - start - uniform(6, 14)) / Math.max(chars.length, 1);
    for (const [index, char] of chars.entries()) {
      const face = pick(captchaFaces());
      const shown = randomInt(0, 2) === 0 ? char.toUpperCase() : char.toLowerCase();
      const size = uniform(40, 52);
      const path = outline(face, shown, size);
      const box = path.getBoundingBox();
      // Evenly spaced slots; the glyphs are wider than their slot, so neighbours touch or overlap.
      const turn = drawGlyphTurn(box, start + slot * (index + 0.5));
      const data = warpedPathData(path, (point) => bend(turn(point)));
      const colour = ink();
      // Some glyphs are drawn as thick outlines, so filled and hollow shapes of one letter differ.
      glyphs.push(randomInt(0, 4) === 0 ? `<path d="${data}" fill="none" stroke="${colour}" stroke-width="2.6"/>` : `<path d="${data}" fill="${colour}"/>`);
    }

    const strokes: string[] = [];
    for (let i = randomInt(2, 4); i > 0; i--) {
      const points = [0, 1, 2, 3].map((k) => bend([(k * CAPTCHA_WIDTH) / 3 + uniform(-15, 15), uniform(12, CAPTCHA_HEIGHT - 12)]));
      const [p0, p1, p2, p3] = points.map((p) => p.map(fmt).join(' '));
      strokes.push(`<path d="M${p0}C${p1} ${p2} ${p3}" fill="none" stroke="${ink()}" stroke-width="${fmt(uniform(1.8, 3.2))}" stroke-linecap="round"/>`);
    }
    const specks: string[] = [];
    for (let i = randomInt(40, 70); i > 0; i--) {
      const x = uniform(0, CAPTCHA_WIDTH);
      const y = uniform(0, CAPTCHA_HEIGHT);
      specks.push(randomInt(0, 2) === 0 ? `<circle cx="${fmt(x)}" cy="${fmt(y)}" r="${fmt(uniform(0.6, 1.8))}" fill="${ink()}"/>` : `<path d="M${fmt(x)} ${fmt(y)}l${fmt(uniform(-9, 9))} ${fmt(uniform(-9, 9))}" stroke="${ink()}" stroke-width="${fmt(uniform(0.8, 1.6))}"/>`);
    }
    const blobs: string[] = [];
    for (let i = 0; i < 6; i++) {
      blobs.push(`<ellipse cx="${fmt(uniform(0, CAPTCHA_WIDTH))}" cy="${fmt(uniform(0, CAPTCHA_HEIGHT))}" rx="${fmt(uniform(15, 45))}" ry="${fmt(uniform(8, 25))}" fill="hsl(${randomInt(0, 360)},60%,${randomInt(78, 92)}%)" fill-opacity="0.7"/>`);
    }
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" width="${CAPTCHA_WIDTH}" height="${CAPTCHA_HEIGHT}" viewBox="0 0 ${CAPTCHA_WIDTH} ${CAPTCHA_HEIGHT}">` +
      `<rect width="100%" height="100%" fill="hsl(${(hue + 180) % 360},40%,95%)"/>${blobs.join('')}${specks.join('')}${glyphs.join('')}${strokes.join('')}</svg>`
    );
  }
}
