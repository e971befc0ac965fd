/**
 * Regenerates manifests/teams/color.png and outline.png from scripts/teams/app-icons.ts:
 *
 *   npx tsx scripts/teams-icons.ts
 *
 * The output is the same bytes on every run, so a diff in git means the drawing changed.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { drawColorIcon, drawOutlineIcon } from './teams/app-icons';
import { encodePng } from './teams/png';

const dir = path.resolve(__dirname, '../manifests/teams');
for (const [name, image] of [
  ['color.png', drawColorIcon()],
  ['outline.png', drawOutlineIcon()],
] as const) {
  const file = path.join(dir, name);
  const png = encodePng(image);
  writeFileSync(file, png);
  console.log(`${path.relative(process.cwd(), file)}: ${image.width}×${image.height}, ${png.length} bytes`);
}
