import { readFileSync } from 'node:fs';
import * as opentype from 'opentype.js';
import { sharp } from '@/common/images/sharp';
import { CAPTCHA_ALPHABET, CAPTCHA_FONT_FILES, CAPTCHA_HEIGHT, CAPTCHA_WIDTH, type Draw, drawBend, drawGlyphTurn, RasterCaptchaRenderer } from './raster-captcha.renderer';

// The captcha's properties, never its pixels: a PNG of the documented size, one outline per character of the
// answer drawn from the shipped fonts, left to right inside the image, dark ink on a light ground, and nothing
// fixed from one image to the next (fonts, case, placement, colours, noise).

const renderer = new RasterCaptchaRenderer();

/** The command letters of each shipped face's outline of `character`: what a glyph drawn from it must show. */
const outlinesOf = (() => {
  const fonts = CAPTCHA_FONT_FILES.map((file) => {
    const bytes = readFileSync(require.resolve(file));
    return opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  });
  const cache = new Map<string, Set<string>>();
  return (character: string): Set<string> => {
    if (!cache.has(character)) {
      const shapes = fonts.flatMap((font) => [character.toLowerCase(), character.toUpperCase()].map((shown) => font.getPath(shown, 0, 0, 1).commands.map((command) => command.type).join('')));
      cache.set(character, new Set(shapes));
    }
    return cache.get(character)!;
  };
})();

/** The sign of a glyph's outline area (the sum of its contours'): which way round it is drawn. Every shipped face agrees. */
const windingOf = (contours: number[][][]) => Math.sign(contours.reduce((sum, points) => sum + points.reduce((area, [x, y], index) => {
  const [nextX, nextY] = points[(index + 1) % points.length];
  return area + x * nextY - nextX * y;
}, 0), 0));

const fontWindings = (() => {
  const signs = new Set<number>();
  for (const file of CAPTCHA_FONT_FILES) {
    const bytes = readFileSync(require.resolve(file));
    const font = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    for (const character of CAPTCHA_ALPHABET + CAPTCHA_ALPHABET.toUpperCase()) {
      const contours: number[][][] = [];
      for (const command of font.getPath(character, 0, 0, 1).commands) {
        if (command.type === 'M') contours.push([]);
        if (command.type === 'Q') contours.at(-1)!.push([command.x1, command.y1]);
        if (command.type !== 'Z') contours.at(-1)!.push([command.x, command.y]);
      }
      signs.add(windingOf(contours));
    }
  }
  return signs;
})();

/** A glyph's path data as contours of [command, numbers]. */
const contoursOf = (data: string) => {
  const contours: { type: string; numbers: number[] }[][] = [];
  for (const match of data.matchAll(/([MLQ])([^MLQ]*)/g)) {
    if (match[1] === 'M') contours.push([]);
    contours.at(-1)!.push({ type: match[1], numbers: match[2].trim().split(' ').map(Number) });
  }
  return contours;
};

/** The shapes of one case only, in every face. */
const shapesOfCase = (() => {
  const fonts = CAPTCHA_FONT_FILES.map((file) => {
    const bytes = readFileSync(require.resolve(file));
    return opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  });
  return (shown: string) => new Set(fonts.map((font) => font.getPath(shown, 0, 0, 1).commands.map((command) => command.type).join('')));
})();
const lowerShapes = (character: string) => shapesOfCase(character.toLowerCase());
const upperShapes = (character: string) => shapesOfCase(character.toUpperCase());

type Glyph = { data: string; colour: string; hollow: boolean };

function parse(svg: string) {
  const glyphs: Glyph[] = [];
  for (const match of svg.matchAll(/<path d="([^"]*)" (?:fill="none" stroke="([^"]+)" stroke-width="2.6"|fill="([^"]+)")\/>/g)) {
    glyphs.push({ data: match[1], colour: match[2] ?? match[3], hollow: match[2] !== undefined });
  }
  const strokes = [...svg.matchAll(/<path d="(M[^"]*C[^"]*)" fill="none" stroke="([^"]+)" stroke-width="([^"]+)" stroke-linecap="round"\/>/g)].map((m) => ({ data: m[1], colour: m[2], width: Number(m[3]) }));
  const circles = [...svg.matchAll(/<circle cx="([^"]+)" cy="([^"]+)" r="([^"]+)" fill="([^"]+)"\/>/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), r: Number(m[3]), colour: m[4] }));
  const scratches = [...svg.matchAll(/<path d="M(\S+) (\S+)l(\S+) (\S+)" stroke="([^"]+)" stroke-width="([^"]+)"\/>/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    dx: Number(m[3]),
    dy: Number(m[4]),
    colour: m[5],
    width: Number(m[6]),
  }));
  const blobs = [...svg.matchAll(/<ellipse cx="([^"]+)" cy="([^"]+)" rx="([^"]+)" ry="([^"]+)" fill="([^"]+)" fill-opacity="0.7"\/>/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    rx: Number(m[3]),
    ry: Number(m[4]),
    colour: m[5],
  }));
  const background = /<rect width="100%" height="100%" fill="([^"]+)"\/>/.exec(svg)?.[1];
  return { glyphs, strokes, circles, scratches, blobs, background };
}

const points = (data: string) => {
  const numbers = data.match(/-?\d+(\.\d+)?/g)!.map(Number);
  return numbers.flatMap((value, index) => (index % 2 === 0 ? [[value, numbers[index + 1]] as const] : []));
};
const hsl = (colour: string) => {
  const match = /^hsl\((\d+),(\d+)%,(\d+)%\)$/.exec(colour);
  if (!match) throw new Error(`not an hsl colour: ${colour}`);
  return { h: Number(match[1]), s: Number(match[2]), l: Number(match[3]) };
};
const hueDistance = (a: number, b: number) => Math.min(Math.abs(a - b), 360 - Math.abs(a - b));
const many = <T>(count: number, make: () => T) => Array.from({ length: count }, make);

describe('RasterCaptchaRenderer', () => {
  it('draws each character of the answer, in order, as its outline in one of the shipped fonts (either case)', () => {
    const text = CAPTCHA_ALPHABET;
    for (let round = 0; round < 20; round++) {
      const { glyphs } = parse(renderer.svg(text));
      expect(glyphs).toHaveLength(text.length);
      glyphs.forEach((glyph, index) => {
        // Path data and nothing else: commands and pairs of numbers (the shipped fonts have quadratic outlines only).
        expect(glyph.data).toMatch(/^(?:M-?\d+\.\d -?\d+\.\d(?:L-?\d+\.\d -?\d+\.\d|Q-?\d+\.\d -?\d+\.\d -?\d+\.\d -?\d+\.\d)*)+$/);
        expect(outlinesOf(text[index])).toContain(glyph.data.replace(/[^MLQCZ]/g, ''));
        const contours = contoursOf(glyph.data);
        for (const contour of contours) {
          // Every contour ends where it began, as the font's do: each point is moved by the same warp.
          expect(contour.at(-1)!.numbers.slice(-2)).toStrictEqual(contour[0].numbers);
          // A curve's control point stays near its ends (at most ~0.3 of the 40-52 px letter, turned and sheared).
          contour.forEach((command, at) => {
            if (command.type !== 'Q') return;
            const [fromX, fromY] = contour[at - 1].numbers.slice(-2);
            const [controlX, controlY, toX, toY] = command.numbers;
            expect(Math.max(Math.hypot(controlX - fromX, controlY - fromY), Math.hypot(controlX - toX, controlY - toY))).toBeLessThan(34);
          });
        }
        // Turned and sheared, never mirrored: the outline winds the way the font's does.
        expect(fontWindings.size).toBe(1);
        expect(windingOf(contours.map((contour) => contour.flatMap((command) => {
          const pairs: number[][] = [];
          for (let i = 0; i < command.numbers.length; i += 2) pairs.push(command.numbers.slice(i, i + 2));
          return pairs;
        })))).toBe([...fontWindings][0]);
      });
    }
  });

  it('draws each character in either case, at random', () => {
    const cases = new Map<string, Set<string>>();
    for (let round = 0; round < 20; round++) {
      parse(renderer.svg('aehkmnrty')).glyphs.forEach((glyph, index) => {
        const character = 'aehkmnrty'[index];
        const shape = glyph.data.replace(/[^MLQCZ]/g, '');
        const seen = cases.get(character) ?? new Set<string>();
        if (lowerShapes(character).has(shape)) seen.add('lower');
        if (upperShapes(character).has(shape)) seen.add('upper');
        cases.set(character, seen);
      });
    }
    for (const character of 'aehkmnrty') expect([character, [...cases.get(character)!].sort()]).toStrictEqual([character, ['lower', 'upper']]);
  });

  it('draws no outline for a character the fonts were not read for (only CAPTCHA_FIXED_TEXT, for tests, can ask one)', () => {
    const { glyphs } = parse(renderer.svg('o'));
    expect(glyphs).toHaveLength(1);
    expect(glyphs[0].data).toBe('');
  });

  it('an answer given in capitals is drawn from the same characters', () => {
    const { glyphs } = parse(renderer.svg('AB7'));
    expect(glyphs.map((glyph) => glyph.data.replace(/[^MLQCZ]/g, '')).every((shape, index) => outlinesOf('ab7'[index]).has(shape))).toBe(true);
  });

  it('places the characters left to right, each near its own fifth of the width, inside the image, the line centred', () => {
    const middles: number[] = [];
    const heights: number[] = [];
    for (let round = 0; round < 50; round++) {
      const { glyphs } = parse(renderer.svg('wxmkh'));
      const centres = glyphs.map((glyph) => {
        const xs = points(glyph.data).map(([x]) => x);
        const ys = points(glyph.data).map(([, y]) => y);
        return { x: (Math.min(...xs) + Math.max(...xs)) / 2, y: (Math.min(...ys) + Math.max(...ys)) / 2, left: Math.min(...xs), right: Math.max(...xs), top: Math.min(...ys), bottom: Math.max(...ys) };
      });
      centres.forEach((centre, index) => {
        const slot = CAPTCHA_WIDTH / 5;
        expect(centre.x).toBeGreaterThan(slot * index - 8);
        expect(centre.x).toBeLessThan(slot * (index + 1) + 8);
        expect(centre.y).toBeGreaterThan(CAPTCHA_HEIGHT / 2 - 18);
        expect(centre.y).toBeLessThan(CAPTCHA_HEIGHT / 2 + 18);
        // 40 to 52 px letters: never a speck, never taller than the image (control points may stick out a little).
        expect(centre.right - centre.left).toBeGreaterThan(8);
        expect(centre.bottom - centre.top).toBeGreaterThan(12);
        expect(centre.bottom - centre.top).toBeLessThan(CAPTCHA_HEIGHT);
        expect(centre.left).toBeGreaterThan(-25);
        expect(centre.right).toBeLessThan(CAPTCHA_WIDTH + 25);
        heights.push(centre.y);
      });
      middles.push((centres[0].x + centres[4].x) / 2);
    }
    // On average the line sits in the middle of the image, both ways (the margins and jitter are symmetric).
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(Math.abs(mean(middles) - CAPTCHA_WIDTH / 2)).toBeLessThan(5);
    expect(Math.abs(mean(heights) - CAPTCHA_HEIGHT / 2)).toBeLessThan(4);
  });

  it('draws an SVG scene of the captcha size: a light ground, light blobs, specks, the glyphs, then 2 or 3 strokes across', () => {
    // Every value drawn over 200 scenes, checked once at the end (expect() per value would take seconds).
    const values = new Map<string, number[]>();
    const add = (name: string, ...numbers: number[]) => {
      if (!values.has(name)) values.set(name, []);
      values.get(name)!.push(...numbers);
    };
    const range = (name: string) => {
      const all = values.get(name) ?? [];
      return [Math.min(...all), Math.max(...all)];
    };
    let hollow = 0;
    for (let round = 0; round < 200; round++) {
      const svg = renderer.svg('abc');
      const scene = parse(svg);
      add('open', svg.startsWith(`<svg xmlns="http://www.w3.org/2000/svg" width="${CAPTCHA_WIDTH}" height="${CAPTCHA_HEIGHT}" viewBox="0 0 ${CAPTCHA_WIDTH} ${CAPTCHA_HEIGHT}"><rect `) ? 1 : 0);
      add('close', svg.endsWith('</svg>') ? 1 : 0);
      // Elements only: no text between them.
      add('text', svg.replace(/<[^>]*>/g, '').length);
      // The order of drawing: ground, blobs, specks, glyphs, strokes (the strokes cross the text).
      const order = [svg.indexOf('<rect'), svg.indexOf('<ellipse'), svg.lastIndexOf('<ellipse'), svg.indexOf(scene.glyphs[0].data), svg.indexOf(scene.glyphs[2].data), svg.indexOf(scene.strokes[0].data)];
      add('ordered', order.every((at, index) => index === 0 || at > order[index - 1]) ? 1 : 0);
      add('glyphs', scene.glyphs.length);
      hollow += scene.glyphs.filter((glyph) => glyph.hollow).length;

      const ground = hsl(scene.background!);
      add('ground s', ground.s);
      add('ground l', ground.l);
      add('blobs', scene.blobs.length);
      for (const blob of scene.blobs) {
        const colour = hsl(blob.colour);
        add('blob x', blob.x);
        add('blob y', blob.y);
        add('blob rx', blob.rx);
        add('blob ry', blob.ry);
        add('blob s', colour.s);
        add('blob l', colour.l);
      }
      // Ink: dark, in hues near one another, opposite the ground's.
      const inks = [...scene.glyphs.map((glyph) => glyph.colour), ...scene.strokes.map((stroke) => stroke.colour), ...scene.circles.map((c) => c.colour), ...scene.scratches.map((c) => c.colour)].map(hsl);
      const hue = (ground.h + 180) % 360;
      for (const ink of inks) {
        add('ink h', ink.h);
        add('ink from hue', hueDistance(ink.h, hue));
        add('ink offset', ((ink.h - hue + 540) % 360) - 180);
        add('ink s', ink.s);
        add('ink l', ink.l);
      }
      add('strokes', scene.strokes.length);
      for (const stroke of scene.strokes) {
        const line = points(stroke.data);
        add('stroke width', stroke.width);
        // From the left edge to the right one (moved by the waves and the jitter).
        add('stroke start x', line[0][0]);
        add('stroke end x', line[3][0]);
        add('stroke y', ...line.map(([, y]) => y));
      }
      add('specks', scene.circles.length + scene.scratches.length);
      add('circles', scene.circles.length);
      for (const speck of [...scene.circles, ...scene.scratches]) {
        add('speck x', speck.x);
        add('speck y', speck.y);
      }
      for (const circle of scene.circles) add('circle r', circle.r);
      for (const scratch of scene.scratches) {
        add('scratch dx', scratch.dx);
        add('scratch dy', scratch.dy);
        add('scratch width', scratch.width);
      }
    }
    const ranges = Object.fromEntries([...values.keys()].map((name) => [name, range(name)]));
    expect(ranges).toMatchObject({ open: [1, 1], close: [1, 1], text: [0, 0], ordered: [1, 1], glyphs: [3, 3], 'ground s': [40, 40], 'ground l': [95, 95], blobs: [6, 6], 'blob s': [60, 60], strokes: [2, 3] });
    const within = (name: string, low: number, high: number) => {
      const [min, max] = ranges[name];
      expect({ name, min: min >= low, max: max <= high }).toStrictEqual({ name, min: true, max: true });
    };
    within('blob x', 0, CAPTCHA_WIDTH);
    within('blob y', 0, CAPTCHA_HEIGHT);
    within('blob rx', 15, 45);
    within('blob ry', 8, 25);
    within('blob l', 78, 91);
    within('ink h', 0, 359);
    within('ink from hue', 0, 40);
    within('ink s', 45, 79);
    within('ink l', 18, 37);
    within('stroke width', 1.8, 3.2);
    within('stroke start x', -25, 25);
    within('stroke end x', CAPTCHA_WIDTH - 25, CAPTCHA_WIDTH + 25);
    within('stroke y', 4, CAPTCHA_HEIGHT - 4);
    within('specks', 40, 69);
    within('speck x', 0, CAPTCHA_WIDTH);
    within('speck y', 0, CAPTCHA_HEIGHT);
    within('circle r', 0.6, 1.8);
    within('scratch dx', -9, 9);
    within('scratch dy', -9, 9);
    within('scratch width', 0.8, 1.6);
    // The draws spread over their ranges, not stuck at one value.
    expect(new Set(values.get('specks')).size).toBeGreaterThan(10);
    expect(ranges['ink offset'][0]).toBeLessThan(-30);
    expect(ranges['ink offset'][1]).toBeGreaterThan(30);
    expect(ranges['stroke start x'][0]).toBeLessThan(-8);
    expect(ranges['stroke start x'][1]).toBeGreaterThan(8);
    for (const name of ['scratch dx', 'scratch dy']) {
      expect(ranges[name][0]).toBeLessThan(-8);
      expect(ranges[name][1]).toBeGreaterThan(8);
    }
    expect(ranges['blob l'][1] - ranges['blob l'][0]).toBeGreaterThan(8);
    // About one glyph in four hollow, half the specks circles.
    expect(hollow / 600).toBeGreaterThan(0.15);
    expect(hollow / 600).toBeLessThan(0.35);
    const circles = values.get('circles')!.reduce((sum, count) => sum + count, 0);
    const specks = values.get('specks')!.reduce((sum, count) => sum + count, 0);
    expect(circles / specks).toBeGreaterThan(0.4);
    expect(circles / specks).toBeLessThan(0.6);
  });

  it('never draws the same scene twice: fonts, case, place, colours and noise change with each image', () => {
    const scenes = many(40, () => parse(renderer.svg('aaaaa')));
    expect(new Set(scenes.map((scene) => scene.background)).size).toBeGreaterThan(20);
    // Five times the same character: its shapes differ within one image and between images.
    const shapes = new Set(scenes.flatMap((scene) => scene.glyphs.map((glyph) => glyph.data.replace(/[^MLQCZ]/g, ''))));
    expect(shapes.size).toBeGreaterThan(5);
    expect(new Set(scenes.map((scene) => scene.glyphs[0].data)).size).toBe(40);
  });

  it('renders a PNG of 200 × 70 with dark ink on a light ground, a different one each time', async () => {
    const [first, second] = await Promise.all([renderer.render('abcde'), renderer.render('abcde')]);
    expect(first.subarray(0, 8)).toStrictEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const metadata = await sharp(first).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: CAPTCHA_WIDTH, height: CAPTCHA_HEIGHT });
    expect(first.equals(second)).toBe(false);
    const { data } = await sharp(first).greyscale().raw().toBuffer({ resolveWithObject: true });
    const dark = data.filter((value) => value < 110).length / data.length;
    const light = data.filter((value) => value > 200).length / data.length;
    // The ink covers a good part of the image, the ground most of the rest.
    expect(dark).toBeGreaterThan(0.02);
    expect(dark).toBeLessThan(0.5);
    expect(light).toBeGreaterThan(0.3);
  });

  it('answers random answers of the given length (5 by default) from the alphabet only, every character of it in use', () => {
    expect(renderer.randomText()).toMatch(new RegExp(`^[${CAPTCHA_ALPHABET}]{5}$`));
    expect(renderer.randomText(8)).toHaveLength(8);
    expect(renderer.randomText(0)).toBe('');
    const long = renderer.randomText(4000);
    expect(new Set(long)).toStrictEqual(new Set(CAPTCHA_ALPHABET));
    // Each character about as often as any other (1/22 of the draws: 182 of 4000).
    for (const character of CAPTCHA_ALPHABET) {
      const count = long.split(character).length - 1;
      expect(count).toBeGreaterThan(110);
      expect(count).toBeLessThan(260);
    }
    expect(new Set(many(50, () => renderer.randomText())).size).toBeGreaterThan(45);
  });

  it('uses an alphabet without characters a person confuses once case is ignored', () => {
    expect(CAPTCHA_ALPHABET).toBe(CAPTCHA_ALPHABET.toLowerCase());
    expect(new Set(CAPTCHA_ALPHABET).size).toBe(CAPTCHA_ALPHABET.length);
    // At most one of each group a person confuses (b stays: 6 and 8 are out).
    for (const group of ['0o', '1il', '5s', '2z', '68b', '9gq']) expect([...group].filter((character) => CAPTCHA_ALPHABET.includes(character)).length).toBeLessThanOrEqual(1);
    expect(CAPTCHA_ALPHABET.length).toBeGreaterThanOrEqual(20);
  });
});

describe('the distortion at the ends of the random source', () => {
  // The CSPRNG draw is min + k / 2^24 * (max - min) for k in [0, 2^24): its ends are min and just under max.
  const lowest: Draw = (min) => min;
  const highest: Draw = (min, max) => min + ((2 ** 24 - 1) / 2 ** 24) * (max - min);
  const box = { x1: 10, y1: -40, x2: 40, y2: 6 }; // a glyph reaching below the baseline: its centre is (25, -17)

  /** The linear part of a turn (where the unit steps across and down land) and where the box's centre lands. */
  function read(turn: (p: [number, number]) => [number, number]) {
    const [ox, oy] = turn([25, -17]);
    const [ax, ay] = turn([26, -17]);
    const [bx, by] = turn([25, -16]);
    const across = [ax - ox, ay - oy];
    const down = [bx - ox, by - oy];
    const angle = (Math.atan2(across[1], across[0]) * 180) / Math.PI;
    const squeeze = Math.hypot(across[0], across[1]);
    // Undo the turn: the step down becomes (shear, 1).
    const r = (-angle * Math.PI) / 180;
    const shear = down[0] * Math.cos(r) - down[1] * Math.sin(r);
    const height = down[0] * Math.sin(r) + down[1] * Math.cos(r);
    return { origin: [ox, oy], angle, squeeze, shear, height };
  }

  it('turns a glyph by at most 28° either way (never upside down), shears it by at most 0.3, squeezes it by 0.85 to 1.2, and moves its centre at most 4 px across and 7 px up or down', () => {
    const low = read(drawGlyphTurn(box, 100, lowest));
    expect(low.angle).toBeCloseTo(-28, 6);
    expect(low.shear).toBeCloseTo(-0.3, 6);
    expect(low.squeeze).toBeCloseTo(0.85, 6);
    expect(low.height).toBeCloseTo(1, 6);
    expect(low.origin[0]).toBeCloseTo(96, 6);
    expect(low.origin[1]).toBeCloseTo(CAPTCHA_HEIGHT / 2 - 7, 6);
    const high = read(drawGlyphTurn(box, 100, highest));
    expect(high.angle).toBeCloseTo(28, 4);
    expect(high.shear).toBeCloseTo(0.3, 4);
    expect(high.squeeze).toBeCloseTo(1.2, 4);
    expect(high.height).toBeCloseTo(1, 6);
    expect(high.origin[0]).toBeCloseTo(104, 4);
    expect(high.origin[1]).toBeCloseTo(CAPTCHA_HEIGHT / 2 + 7, 4);
    // In between, a turn stays upright: a step down still goes down.
    const middle = read(drawGlyphTurn(box, 100, (min, max) => (min + max) / 2));
    expect(middle.angle).toBeCloseTo(0, 6);
    expect(middle.shear).toBeCloseTo(0, 6);
    expect(middle.origin).toEqual([100, CAPTCHA_HEIGHT / 2]);
  });

  it('bends the line by two smooth waves of 2.5 to 5 px up and down and 2 to 4.5 px across, with periods of 2π/0.045 to 2π/0.02 and 2π/0.08 to 2π/0.04, and a phase over the whole period', () => {
    for (const [draw, ampA, freqA, ampB, freqB, phase] of [
      [lowest, 2.5, 0.02, 2, 0.04, 0],
      [highest, 5, 0.045, 4.5, 0.08, 2 * Math.PI],
    ] as const) {
      const bend = drawBend(draw);
      for (const x of [0, 17, 50, 123, 200]) {
        for (const y of [0, 9, 35, 70]) {
          const [bx, by] = bend([x, y]);
          // The wave's value at each point, from its amplitude, frequency and phase at this end of the source.
          expect(by - y).toBeCloseTo(ampA * Math.sin(x * freqA + phase), 3);
          expect(bx - x).toBeCloseTo(ampB * Math.sin(y * freqB + phase), 3);
        }
      }
    }
  });
});
