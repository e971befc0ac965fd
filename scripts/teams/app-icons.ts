import type { RgbaImage } from './png';

/**
 * The Teams app's two icons, drawn from shapes so that they can be regenerated
 * (`npx tsx scripts/teams-icons.ts`): a padlock, for access that is locked again when its time is up.
 *
 * Teams' rules (learn.microsoft.com, "Teams app package", App icons):
 * - colour: 192×192, the symbol inside the central 96×96 on a solid or fully transparent square
 *   background (48 px of padding, which Teams crops into a rounded square or a hexagon);
 * - outline: 32×32, only white (255, 255, 255) and fully transparent pixels, no padding around the symbol.
 */

/** The manifest's accentColor and the colour icon's background. */
export const ACCENT = '#1d2b36';

type Rgb = readonly [number, number, number];
type Shape = (x: number, y: number) => boolean;

const BACKGROUND = hex(ACCENT);
const SHACKLE: Rgb = [0xe6, 0xed, 0xf3];
const BODY: Rgb = [0xf2, 0xa9, 0x3b];

/** 192×192, full colour: a light shackle and an amber body with a keyhole, on the accent colour. */
export function drawColorIcon(): RgbaImage {
  // NB: everything lies well inside x, y ∈ [48, 144), the 96×96 symbol area, so the padding stays
  // one solid colour (the package check verifies this on the PNG itself).
  const shackle = union(ringTop(96, 86, 15, 24), rect(72, 86, 81, 96), rect(111, 86, 120, 96));
  const body = roundedRect(62, 92, 130, 138, 9);
  const keyhole = union(circle(96, 109, 7), rect(92.5, 109, 99.5, 126));
  const layers: readonly (readonly [Shape, Rgb])[] = [
    [shackle, SHACKLE],
    [body, BODY],
    [keyhole, BACKGROUND],
  ];
  return render(192, 192, 4, (x, y) => {
    let colour: Rgb = BACKGROUND;
    for (const [shape, fill] of layers) if (shape(x, y)) colour = fill;
    return [...colour, 255];
  });
}

/** 32×32 outline: the same padlock in white on transparent, touching the top and bottom edges. */
export function drawOutlineIcon(): RgbaImage {
  const shackle = union(ringTop(16, 11, 8, 11), rect(5, 11, 8, 15), rect(24, 11, 27, 15));
  const body = roundedRect(3, 14, 29, 32, 2.5);
  const keyhole = union(circle(16, 21, 2), rect(15, 21, 17, 27));
  const white: Shape = (x, y) => (shackle(x, y) || body(x, y)) && !keyhole(x, y);
  // NB: one sample per pixel, no anti-aliasing: every pixel is exactly white or exactly transparent.
  return render(32, 32, 1, (x, y) => (white(x, y) ? [255, 255, 255, 255] : [0, 0, 0, 0]));
}

/** Samples `colourAt` on a `grid × grid` raster in each pixel and averages (premultiplied, for clean edges). */
function render(width: number, height: number, grid: number, colourAt: (x: number, y: number) => readonly [number, number, number, number]): RgbaImage {
  const pixels = new Uint8Array(width * height * 4);
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (let sy = 0; sy < grid; sy++) {
        for (let sx = 0; sx < grid; sx++) {
          const [cr, cg, cb, ca] = colourAt(px + (sx + 0.5) / grid, py + (sy + 0.5) / grid);
          r += cr * ca;
          g += cg * ca;
          b += cb * ca;
          a += ca;
        }
      }
      const o = (py * width + px) * 4;
      if (a > 0) {
        pixels[o] = Math.round(r / a);
        pixels[o + 1] = Math.round(g / a);
        pixels[o + 2] = Math.round(b / a);
        pixels[o + 3] = Math.round(a / (grid * grid));
      }
    }
  }
  return { width, height, pixels };
}

function rect(x0: number, y0: number, x1: number, y1: number): Shape {
  return (x, y) => x >= x0 && x < x1 && y >= y0 && y < y1;
}

function circle(cx: number, cy: number, r: number): Shape {
  return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** The upper half of a ring: the padlock's shackle. */
function ringTop(cx: number, cy: number, inner: number, outer: number): Shape {
  return (x, y) => {
    const d = (x - cx) ** 2 + (y - cy) ** 2;
    return y <= cy && d <= outer * outer && d >= inner * inner;
  };
}

function roundedRect(x0: number, y0: number, x1: number, y1: number, r: number): Shape {
  return (x, y) => {
    if (x < x0 || x >= x1 || y < y0 || y >= y1) return false;
    const dx = x < x0 + r ? x0 + r - x : x > x1 - r ? x - (x1 - r) : 0;
    const dy = y < y0 + r ? y0 + r - y : y > y1 - r ? y - (y1 - r) : 0;
    return dx * dx + dy * dy <= r * r;
  };
}

function union(...shapes: readonly Shape[]): Shape {
  return (x, y) => shapes.some((s) => s(x, y));
}

function hex(colour: string): Rgb {
  const n = Number.parseInt(colour.slice(1), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}
