import * as opentype from 'opentype.js';
import sharp from 'sharp';

/**
 * Two programs that read captchas, kept to measure the human check (SECURITY.md, "Bots").
 *
 * - `SvgOutlineSolver` beats svg-captcha: it draws every character as one `<path>` outline of one
 *   fixed font at one fixed size, jittered by ±0.1 px, so each outline is matched against the same
 *   font's outlines.
 * - `RasterTemplateAttack` is the best cheap attack we know on a raster captcha whose fonts and
 *   alphabet are public: threshold the pixels, open away thin strokes and specks, cut the text into
 *   evenly spaced slots, and match each slot's ink, normalised in size, against templates of every
 *   character in every font, both cases, at several angles.
 */

type Point = [number, number];

/** The points of an outline, in drawing order, with their command letters. */
function outlinePoints(commands: opentype.PathCommand[]): { kinds: string; points: Point[] } {
  const points: Point[] = [];
  let kinds = '';
  for (const command of commands) {
    kinds += command.type;
    if (command.type === 'Q') points.push([command.x1, command.y1]);
    if (command.type === 'C') points.push([command.x1, command.y1], [command.x2, command.y2]);
    if (command.type !== 'Z') points.push([command.x, command.y]);
  }
  return { kinds, points };
}

/** Points moved so that the outline's box starts at 0,0. */
function anchored(points: Point[]): Point[] {
  const minX = Math.min(...points.map((p) => p[0]));
  const minY = Math.min(...points.map((p) => p[1]));
  return points.map(([x, y]) => [x - minX, y - minY]);
}

/** Parses SVG path data of absolute M/L/Q/C/Z commands (what opentype.js writes) back into commands. */
function parsePathData(data: string): opentype.PathCommand[] {
  const commands: opentype.PathCommand[] = [];
  for (const [, type, args] of data.matchAll(/([MLQCZ])([^MLQCZ]*)/g)) {
    const n = (args.match(/-?\d*\.?\d+(?:e-?\d+)?/g) ?? []).map(Number);
    if (type === 'M' || type === 'L') commands.push({ type, x: n[0], y: n[1] });
    else if (type === 'Q') commands.push({ type, x1: n[0], y1: n[1], x: n[2], y: n[3] });
    else if (type === 'C') commands.push({ type, x1: n[0], y1: n[1], x2: n[2], y2: n[3], x: n[4], y: n[5] });
    else commands.push({ type: 'Z' });
  }
  return commands;
}

export class SvgOutlineSolver {
  private readonly references: { char: string; kinds: string; points: Point[] }[];

  constructor(font: opentype.Font, charset: string, fontSize = 56) {
    this.references = [...charset].map((char) => {
      const { kinds, points } = outlinePoints(font.charToGlyph(char).getPath(0, 0, fontSize).commands);
      return { char, kinds, points: anchored(points) };
    });
  }

  /** Reads the answer of an svg-captcha image: the filled paths (not the stroked noise lines), left to right, each matched by outline. */
  solve(svg: string): string {
    const glyphs = [...svg.matchAll(/<path fill="[^"]*" d="([^"]+)"\/>/g)].map(([, data]) => outlinePoints(parsePathData(data)));
    return glyphs
      .map((glyph) => ({ left: Math.min(...glyph.points.map((p) => p[0])), char: this.match(glyph) }))
      .sort((a, b) => a.left - b.left)
      .map((glyph) => glyph.char)
      .join('');
  }

  private match(glyph: { kinds: string; points: Point[] }): string {
    const points = anchored(glyph.points);
    let best = { char: '?', distance: Infinity };
    for (const reference of this.references) {
      if (reference.kinds !== glyph.kinds) continue;
      const distance = reference.points.reduce((sum, [x, y], i) => sum + Math.hypot(x - points[i][0], y - points[i][1]), 0) / points.length;
      if (distance < best.distance) best = { char: reference.char, distance };
    }
    return best.char;
  }
}

const CELL = 20;

/** A binary image: 1 where there is ink. */
interface Bitmap {
  width: number;
  height: number;
  ink: Uint8Array;
}

async function toBitmap(image: Buffer, threshold: number): Promise<Bitmap> {
  const { data, info } = await sharp(image).flatten({ background: '#ffffff' }).greyscale().raw().toBuffer({ resolveWithObject: true });
  const ink = new Uint8Array(info.width * info.height);
  for (let i = 0; i < ink.length; i++) ink[i] = data[i * info.channels] < threshold ? 1 : 0;
  return { width: info.width, height: info.height, ink };
}

/** Erosion (every neighbour inked) or dilation (any neighbour inked) with a 3×3 square. */
function morph(bitmap: Bitmap, erode: boolean): Bitmap {
  const { width, height, ink } = bitmap;
  const out = new Uint8Array(ink.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let all = 1;
      let any = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          const v = nx >= 0 && ny >= 0 && nx < width && ny < height ? ink[ny * width + nx] : 0;
          all &= v;
          any |= v;
        }
      }
      out[y * width + x] = erode ? all : any;
    }
  }
  return { width, height, ink: out };
}

/** The ink between columns [x0, x1), cropped to its box and scaled into a CELL×CELL grid keeping its aspect ratio. */
function normalise(bitmap: Bitmap, x0 = 0, x1 = bitmap.width): Float32Array | null {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < bitmap.height; y++) {
    for (let x = x0; x < x1; x++) {
      if (!bitmap.ink[y * bitmap.width + x]) continue;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  if (maxX < 0) return null;
  const w = maxX - minX + 1;
  const h = maxY - minY + 1;
  const scale = CELL / Math.max(w, h);
  const offX = (CELL - w * scale) / 2;
  const offY = (CELL - h * scale) / 2;
  const cell = new Float32Array(CELL * CELL);
  const counts = new Float32Array(CELL * CELL);
  for (let y = minY; y <= maxY; y++) {
    for (let x = minX; x <= maxX; x++) {
      const cx = Math.min(CELL - 1, Math.floor(offX + (x - minX) * scale));
      const cy = Math.min(CELL - 1, Math.floor(offY + (y - minY) * scale));
      cell[cy * CELL + cx] += bitmap.ink[y * bitmap.width + x];
      counts[cy * CELL + cx] += 1;
    }
  }
  for (let i = 0; i < cell.length; i++) cell[i] = counts[i] ? cell[i] / counts[i] : 0;
  return cell;
}

export interface RasterAttackOptions {
  fonts: opentype.Font[];
  /** The answer alphabet (lower case; answers are case-insensitive). */
  alphabet: string;
  length: number;
  fontSize: number;
  /** Angles (degrees) at which every template is drawn. */
  angles?: number[];
  /** Luminance below which a pixel counts as ink. */
  threshold?: number;
  /** Open the bitmap (erode, then dilate) to remove strokes and specks thinner than 3 px. */
  open?: boolean;
}

export class RasterTemplateAttack {
  private templates: { char: string; cell: Float32Array }[] = [];

  private constructor(private readonly options: RasterAttackOptions) {}

  static async create(options: RasterAttackOptions): Promise<RasterTemplateAttack> {
    const attack = new RasterTemplateAttack(options);
    const size = Math.ceil(options.fontSize * 2);
    for (const font of options.fonts) {
      for (const char of options.alphabet) {
        for (const shown of new Set([char.toLowerCase(), char.toUpperCase()])) {
          for (const degrees of options.angles ?? [0]) {
            const angle = (degrees * Math.PI) / 180;
            const path = font.getPath(shown, 0, 0, options.fontSize);
            const box = path.getBoundingBox();
            const cx = (box.x1 + box.x2) / 2;
            const cy = (box.y1 + box.y2) / 2;
            const data = path.commands
              .map((c) => {
                const at = (x: number, y: number) => {
                  const dx = x - cx;
                  const dy = y - cy;
                  return `${(size / 2 + dx * Math.cos(angle) - dy * Math.sin(angle)).toFixed(2)} ${(size / 2 + dx * Math.sin(angle) + dy * Math.cos(angle)).toFixed(2)}`;
                };
                if (c.type === 'M' || c.type === 'L') return `${c.type}${at(c.x, c.y)}`;
                if (c.type === 'Q') return `Q${at(c.x1, c.y1)} ${at(c.x, c.y)}`;
                if (c.type === 'C') return `C${at(c.x1, c.y1)} ${at(c.x2, c.y2)} ${at(c.x, c.y)}`;
                return 'Z';
              })
              .join('');
            const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="#fff"/><path d="${data}" fill="#000"/></svg>`;
            const cell = normalise(await toBitmap(await sharp(Buffer.from(svg)).png().toBuffer(), 128));
            if (cell) attack.templates.push({ char: char.toLowerCase(), cell });
          }
        }
      }
    }
    return attack;
  }

  async solve(image: Buffer): Promise<string> {
    let bitmap = await toBitmap(image, this.options.threshold ?? 120);
    if (this.options.open) bitmap = morph(morph(bitmap, true), false);
    const columns = Array.from({ length: bitmap.width }, (_, x) => {
      let count = 0;
      for (let y = 0; y < bitmap.height; y++) count += bitmap.ink[y * bitmap.width + x];
      return count;
    });
    const inked = columns.flatMap((count, x) => (count >= 2 ? [x] : []));
    if (!inked.length) return '';
    const first = inked[0];
    const last = inked[inked.length - 1] + 1;
    const slot = (last - first) / this.options.length;
    let answer = '';
    for (let i = 0; i < this.options.length; i++) {
      const cell = normalise(bitmap, Math.round(first + i * slot), Math.round(first + (i + 1) * slot));
      answer += cell ? this.nearest(cell) : '?';
    }
    return answer;
  }

  private nearest(cell: Float32Array): string {
    let best = { char: '?', distance: Infinity };
    for (const template of this.templates) {
      let distance = 0;
      for (let i = 0; i < cell.length; i++) distance += (cell[i] - template.cell[i]) ** 2;
      if (distance < best.distance) best = { char: template.char, distance };
    }
    return best.char;
  }
}
