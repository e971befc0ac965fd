import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseChatCommand, type ChatCommand } from '../../src/app/chat/chat-command';
import { drawColorIcon, drawOutlineIcon } from '../../scripts/teams/app-icons';
import { decodePng, encodePng, type RgbaImage } from '../../scripts/teams/png';
import { APP_ID_PLACEHOLDER, buildTeamsAppPackage, checkColorIcon, checkOutlineIcon, checkTeamsManifest, MAX_COMMANDS } from '../../scripts/teams/teams-app-package';
import { writeZip } from '../../scripts/teams/zip-writer';
import { repoRoot, runNodeScript, type RunResult } from '../support/processes';
import { readZip } from '../support/zip-reader';

const teamsDir = path.join(repoRoot, 'manifests/teams');
const APP_ID = '3f8e2a61-5b7c-4d9e-8a1f-2c3b4d5e6f70';

interface Command {
  title: string;
  description: string;
}
interface Bot {
  botId: string;
  scopes: string[];
  isNotificationOnly: boolean;
  supportsFiles: boolean;
  commandLists: { scopes: string[]; commands: Command[] }[];
  [key: string]: unknown;
}
interface Manifest {
  id: string;
  accentColor: string;
  bots: Bot[];
  [key: string]: unknown;
}

const template = () => readFileSync(path.join(teamsDir, 'manifest.json'), 'utf8');
const filledIn = (): Manifest => JSON.parse(template().split(APP_ID_PLACEHOLDER).join(APP_ID)) as Manifest;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-teams-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of manifests/teams/ with `edit` applied to the manifest (the template, placeholders kept). */
function editedPackageDir(edit: (m: Manifest) => void): string {
  const dir = tempDir();
  cpSync(teamsDir, dir, { recursive: true });
  const manifest = JSON.parse(template()) as Manifest;
  edit(manifest);
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

function runPackageScript(args: readonly string[], env: Record<string, string>): Promise<RunResult> {
  // NB: ENV_FILE empty unless a test names one: a developer's own .env never leaks into the test.
  return runNodeScript(['--import', 'tsx', path.join(repoRoot, 'scripts/teams-package.ts'), ...args], { cwd: repoRoot, env: { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: '', ...env } });
}

function image(width: number, height: number, rgba: (x: number, y: number) => readonly [number, number, number, number]): RgbaImage {
  const pixels = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set(rgba(x, y), (y * width + x) * 4);
  return { width, height, pixels };
}

describe('manifests/teams/manifest.json', () => {
  it('passes the package checks once the app id is filled in', () => {
    // When
    const problems = checkTeamsManifest(template().split(APP_ID_PLACEHOLDER).join(APP_ID), APP_ID);

    // Then
    expect(problems).toEqual([]);
  });

  it('leaves the app id to packaging: the placeholder in id and botId, and nowhere else', () => {
    const manifest = JSON.parse(template()) as Manifest;
    expect(manifest.id).toBe(APP_ID_PLACEHOLDER);
    expect(manifest.bots[0]?.botId).toBe(APP_ID_PLACEHOLDER);
    expect(template().split(APP_ID_PLACEHOLDER)).toHaveLength(3);
  });

  it('puts the bot in the personal, team and groupChat scopes, as a conversational bot without files', () => {
    const [bot, ...others] = filledIn().bots;
    expect(others).toEqual([]);
    expect([...(bot?.scopes ?? [])].sort()).toEqual(['groupChat', 'personal', 'team']);
    expect(bot).toMatchObject({ isNotificationOnly: false, supportsFiles: false });
  });

  it('offers every sub-command of the chat grammar, once per scope and at most 10 per list, each parsed as itself', () => {
    // Given: the sub-commands of src/app/chat/chat-command.ts (an empty message opens the form, and a
    // request has no verb of its own: neither can be a menu entry).
    const expected: Record<string, (c: ChatCommand) => boolean> = {
      roles: (c) => c.kind === 'roles',
      list: (c) => c.kind === 'list',
      status: (c) => c.kind === 'status',
      extend: (c) => c.kind === 'extend',
      revoke: (c) => c.kind === 'revoke',
      cancel: (c) => c.kind === 'cancel',
      'break-glass': (c) => c.kind === 'request' && c.breakGlass,
      help: (c) => c.kind === 'help',
    };
    const sampleArguments: Record<string, string> = { status: 'KP6N6YAR', extend: 'KP6N6YAR 1h more', revoke: 'KP6N6YAR', cancel: 'KP6N6YAR', 'break-glass': 'prod-readonly 1h INC-1 the site is down' };
    const { bots } = filledIn();
    const lists = bots[0]?.commandLists ?? [];

    for (const scope of ['personal', 'team', 'groupChat']) {
      // When
      const forScope = lists.filter((l) => l.scopes.includes(scope));

      // Then
      expect(forScope).toHaveLength(1);
      const commands = forScope[0]?.commands ?? [];
      expect(commands.length).toBeLessThanOrEqual(MAX_COMMANDS);
      expect(commands.map((c) => c.title).sort()).toEqual(Object.keys(expected).sort());
      for (const { title, description } of commands) {
        const parsed = parseChatCommand(`${title} ${sampleArguments[title] ?? ''}`);
        expect({ title, recognised: parsed.ok && (expected[title] as (c: ChatCommand) => boolean)(parsed.command) }).toEqual({ title, recognised: true });
        expect(description.length).toBeGreaterThan(0);
        expect(description.length).toBeLessThanOrEqual(128);
      }
    }
  });

  it('asks for no permissions: no single sign-on, resource-specific consent or device permissions', () => {
    const manifest = filledIn();
    for (const field of ['webApplicationInfo', 'authorization', 'permissions', 'devicePermissions', 'staticTabs', 'configurableTabs', 'composeExtensions']) {
      expect({ field, present: field in manifest }).toEqual({ field, present: false });
    }
  });

  it('uses the colour icon’s background as its accent colour', () => {
    // Given
    const read = decodePng(readFileSync(path.join(teamsDir, 'color.png')));
    if (!read.ok) throw new Error(read.problem);

    // Then
    const [r, g, b] = read.image.pixels;
    expect(filledIn().accentColor.toLowerCase()).toBe(`#${[r, g, b].map((v) => (v as number).toString(16).padStart(2, '0')).join('')}`);
  });
});

describe('manifests/teams icons', () => {
  it('are 192×192 (colour) and 32×32 (outline), by their PNG headers', () => {
    for (const [file, size] of [
      ['color.png', 192],
      ['outline.png', 32],
    ] as const) {
      const png = readFileSync(path.join(teamsDir, file));
      // NB: read from the IHDR chunk itself, not through the decoder under test.
      expect({ file, signature: png.subarray(1, 4).toString('latin1'), chunk: png.toString('latin1', 12, 16), width: png.readUInt32BE(16), height: png.readUInt32BE(20) }).toEqual({
        file,
        signature: 'PNG',
        chunk: 'IHDR',
        width: size,
        height: size,
      });
    }
  });

  it('has an outline of white and fully transparent pixels only, filling the 32×32', () => {
    // Given
    const read = decodePng(readFileSync(path.join(teamsDir, 'outline.png')));
    if (!read.ok) throw new Error(read.problem);
    const kinds = new Set<string>();
    let [top, bottom] = [32, -1];

    // When
    for (let i = 0; i < 32 * 32; i++) {
      const [r, g, b, a] = read.image.pixels.subarray(i * 4, i * 4 + 4);
      kinds.add(a === 0 ? 'transparent' : r === 255 && g === 255 && b === 255 && a === 255 ? 'white' : `other rgba(${r}, ${g}, ${b}, ${a})`);
      if (a !== 0) [top, bottom] = [Math.min(top, Math.floor(i / 32)), Math.max(bottom, Math.floor(i / 32))];
    }

    // Then
    expect([...kinds].sort()).toEqual(['transparent', 'white']);
    expect([top, bottom]).toEqual([0, 31]);
    expect(checkOutlineIcon(readFileSync(path.join(teamsDir, 'outline.png')))).toEqual([]);
  });

  it('has a colour icon whose symbol stays inside the central 96×96 on a solid background', () => {
    expect(checkColorIcon(readFileSync(path.join(teamsDir, 'color.png')))).toEqual([]);
  });

  it('are exactly what scripts/teams-icons.ts draws, so they can be regenerated', () => {
    expect(encodePng(drawColorIcon()).equals(readFileSync(path.join(teamsDir, 'color.png')))).toBe(true);
    expect(encodePng(drawOutlineIcon()).equals(readFileSync(path.join(teamsDir, 'outline.png')))).toBe(true);
  });
});

describe('the icon checks', () => {
  const white = [255, 255, 255, 255] as const;
  const clear = [0, 0, 0, 0] as const;

  it('refuse an outline with a pixel that is neither white nor transparent, naming it', () => {
    const png = encodePng(image(32, 32, (x, y) => (x === 5 && y === 7 ? [200, 200, 200, 255] : x >= 8 && x < 24 ? white : clear)));
    expect(checkOutlineIcon(png)).toEqual([expect.stringMatching(/1 pixel is neither, the first at \(5, 7\): rgba\(200, 200, 200, 255\)/)]);
  });

  it('refuse an outline with padding around its symbol', () => {
    const png = encodePng(image(32, 32, (x, y) => (x >= 4 && x < 28 && y >= 4 && y < 28 ? white : clear)));
    expect(checkOutlineIcon(png)).toEqual([expect.stringContaining('has padding around the symbol (it spans x 4–27, y 4–27)')]);
  });

  it('refuse icons of the wrong size', () => {
    expect(checkOutlineIcon(encodePng(image(48, 48, () => white)))).toEqual(['outline.png is 48×48; Teams needs 32×32.']);
    expect(checkColorIcon(encodePng(image(96, 96, () => white)))).toEqual(['color.png is 96×96; Teams needs 192×192.']);
  });

  it('refuse a colour icon whose symbol reaches into the border Teams crops', () => {
    const png = encodePng(image(192, 192, (x, y) => (x >= 40 && x < 150 && y >= 60 && y < 130 ? [200, 50, 50, 255] : [10, 20, 30, 255])));
    expect(checkColorIcon(png)).toEqual([expect.stringContaining('but pixel (40, 60) differs from (0, 0)')]);
  });

  it('refuse a damaged PNG', () => {
    const png = encodePng(drawOutlineIcon());
    png[png.length - 20] = (png[png.length - 20] as number) ^ 0xff;
    expect(checkOutlineIcon(png)).toEqual([expect.stringMatching(/^outline\.png is damaged \(chunk \w+ fails its CRC check\)\.$/)]);
    expect(checkColorIcon(Buffer.from('GIF89a'))).toEqual(['color.png is not a PNG file (no PNG signature).']);
  });

  it('read PNGs as editors save them: every row filter, palettes, grey levels and tRNS', () => {
    // Given: files written by another encoder (Python's zlib, filter type = row number mod 5), with
    // the RGBA it meant.
    const fixtures: Record<string, readonly [base64: string, rgba: string]> = {
      rgbWithTransparentColour: [
        'iVBORw0KGgoAAAANSUhEUgAAAAcAAAAGCAIAAACAbBMhAAAABnRSTlMACgAUAB7FNin/AAAAj0lEQVR4nAGEAHv/AKVNyhglMLsdbRMs3tYjey7ZHj9yHwHLGXFMKyO/BajHE/jDYv3AYDjevDcCI89IgjvIpuBdbbjqM2cLtjZGTyA3A52zRFhggFS1ZBHX+5ETthdM6JwN8QRCFFxwvJUkW5yGDF7LR+n9YSuDjtsAwnZNKlpNdncG+F2GkAJK1r2jQBvpb7Y5aNtqCXIAAAAASUVORK5CYII=',
        'a54dcaff182530ffbb1d6dff132cdeffd6237bff2ed91eff3f721fffcb1971ff174494ffd6493cff9d5c34ff60be31ff201e69fffedaa0ffeee8b9ff997f5cff7c2999ff0a141e0093253cffd654afff4dfad7ff1427a0ffaeb3feffe9232fff8af221ff1f9ee4ff91c5b1ff0becb5ff563bfcff1e6f93ff427ecbffc8fe29ff55e5cdff8e46dcff8ed4b7ffc2764dff2a5a4dff767706fff85d86ff90024affd6bda3ff401be9ff',
      ],
      palette4BitWithAlpha: [
        'iVBORw0KGgoAAAANSUhEUgAAAAcAAAAGBAMAAAD9IJlFAAAAMFBMVEXIy8zJNfbNH2EiauFTOK4aNABNM7oNJGrATIGxuvI+O/nu9fefK0k0r4f1UgtpuUsu9S7OAAAABXRSTlMNmC6Fu2qbZqsAAAAnSURBVHicY4iuKitgPL7CMYDphDjfBubs689Psnyp5VZlsMmPXQAAr/ELnns2xqkAAAAASUVORK5CYII=',
        '1a3400ffeef5f7ff0d246aff3e3bf9ff0d246aff4d33baff0d246aff9f2b49ff0d246aff4d33baff69b94bffeef5f7ffc8cbcc0dc8cbcc0dc04c81ff69b94bffc04c81ff4d33baffeef5f7fff5520bffeef5f7ffeef5f7ffcd1f612e0d246aff226ae1850d246aff69b94bff4d33baff3e3bf9ff4d33baff69b94bffc8cbcc0d69b94bffeef5f7ffcd1f612e226ae1859f2b49ff4d33baff69b94bff1a3400ff34af87ff3e3bf9ff',
      ],
      grey2Bit: [
        'iVBORw0KGgoAAAANSUhEUgAAAAcAAAAGAgAAAABg1cMLAAAAGklEQVR4nGMI52A8OJ8pv4V56RmWbbkMhS0ANKUGRvFc+O4AAAAASUVORK5CYII=',
        '555555ff555555ff555555ffffffffff000000ff000000ffaaaaaaffffffffff000000ff000000ff555555ff555555ffaaaaaaff000000ff000000ffffffffff000000ff000000ffffffffffaaaaaaff555555ffaaaaaaffffffffffffffffff555555ffaaaaaaff555555ffffffffff555555ffffffffff000000ffffffffffffffffffaaaaaaff000000ff555555ffffffffff000000ff555555ffaaaaaaff000000ff555555ff',
      ],
    };
    for (const [name, [base64, rgba]] of Object.entries(fixtures)) {
      // When
      const read = decodePng(Buffer.from(base64, 'base64'));

      // Then
      expect({ name, ok: read.ok }).toEqual({ name, ok: true });
      if (read.ok) expect({ name, size: [read.image.width, read.image.height], rgba: Buffer.from(read.image.pixels).toString('hex') }).toEqual({ name, size: [7, 6], rgba });
    }
  });
});

describe('the package checks', () => {
  it('list every problem in one pass, each with its field', () => {
    // Given: a manifest with several mistakes, and no outline icon
    const dir = editedPackageDir((m) => {
      const bot = m.bots[0] as Bot;
      bot.scopes = ['team', 'groupChat'];
      bot.botId = '11111111-2222-4333-8444-555555555555';
      bot.supportsFiles = true;
      const list = bot.commandLists[0] as { scopes: string[]; commands: Command[] };
      list.commands = Array.from({ length: 11 }, (_, i) => ({ title: `c${i}`, description: 'too many' }));
      m.webApplicationInfo = { id: APP_ID, resource: 'api://example' };
    });
    unlinkSync(path.join(dir, 'outline.png'));

    // When
    const build = buildTeamsAppPackage(dir, APP_ID);

    // Then
    expect(build.ok).toBe(false);
    const problems = build.ok ? [] : build.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^outline\.png is missing from .*: regenerate the icons with npx tsx scripts\/teams-icons\.ts\.$/),
        expect.stringContaining('manifest.json: webApplicationInfo: asks for permissions the bot does not need'),
        expect.stringContaining('manifest.json: bots[0].botId: is 11111111-2222-4333-8444-555555555555, not MICROSOFT_APP_ID'),
        expect.stringContaining('manifest.json: bots[0].scopes: lacks personal: without it the bot cannot send anyone a DM'),
        'manifest.json: bots[0].supportsFiles: must be false: the bot takes no files.',
        'manifest.json: bots[0].commandLists[0].scopes: "personal" is not one of the bot’s scopes.',
        'manifest.json: bots[0].commandLists[0].commands: has 11 commands; Teams shows at most 10 per list.',
      ]),
    );
    expect(problems).toHaveLength(7);
  });

  it('refuse a scope name in the wrong case, which Teams would reject', () => {
    const dir = editedPackageDir((m) => {
      (m.bots[0] as Bot).scopes = ['personal', 'team', 'groupchat'];
    });
    const build = buildTeamsAppPackage(dir, APP_ID);
    expect(build.ok ? [] : build.problems).toEqual(
      expect.arrayContaining(['manifest.json: bots[0].scopes: "groupchat" is not one of personal, team, groupChat (scope names are case-sensitive).']),
    );
  });

  it('refuse a manifest saved with a byte-order mark, saying so', () => {
    expect(checkTeamsManifest(`\uFEFF${template()}`, APP_ID)).toEqual(['manifest.json starts with a byte-order mark: save it as UTF-8 without BOM.']);
  });

  it('make the same archive from the same files', () => {
    const first = buildTeamsAppPackage(teamsDir, APP_ID);
    const second = buildTeamsAppPackage(teamsDir, APP_ID.toUpperCase());
    expect(first.ok && second.ok && first.zip.equals(second.zip)).toBe(true);
  });
});

describe('writeZip', () => {
  it('writes an archive a separate reader opens, stored or deflated, names in UTF-8', () => {
    const text = Buffer.from('prod-access '.repeat(200));
    const random = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 151 + 7) % 256));
    const entries = readZip(writeZip([
      { name: 'a.txt', data: text },
      { name: 'dir/ü.bin', data: random },
      { name: 'empty', data: Buffer.alloc(0) },
    ]));
    expect(entries.map((e) => [e.name, e.method, e.data.toString('hex')])).toEqual([
      ['a.txt', 8, text.toString('hex')],
      ['dir/ü.bin', 0, random.toString('hex')],
      ['empty', 0, ''],
    ]);
  });
});

describe('npm run teams:package', () => {
  it('writes a zip of exactly manifest.json, color.png and outline.png, with the app id filled in', async () => {
    // Given
    const out = path.join(tempDir(), 'prod-access-teams.zip');

    // When
    const run = await runPackageScript(['--out', out], { MICROSOFT_APP_ID: APP_ID.toUpperCase() });

    // Then
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`manifest.json, color.png, outline.png for app id ${APP_ID}`);
    const entries = readZip(readFileSync(out));
    expect(entries.map((e) => e.name)).toEqual(['manifest.json', 'color.png', 'outline.png']);
    const manifestText = entries[0]?.data.toString('utf8') ?? '';
    expect(manifestText).not.toContain('${{');
    const manifest = JSON.parse(manifestText) as Manifest;
    expect([manifest.id, manifest.bots[0]?.botId]).toEqual([APP_ID, APP_ID]);
    expect(entries[1]?.data.equals(readFileSync(path.join(teamsDir, 'color.png')))).toBe(true);
    expect(entries[2]?.data.equals(readFileSync(path.join(teamsDir, 'outline.png')))).toBe(true);
  });

  it('takes MICROSOFT_APP_ID from the .env file, as the service does', async () => {
    // Given
    const dir = tempDir();
    writeFileSync(path.join(dir, 'teams.env'), `MICROSOFT_APP_ID=${APP_ID}\n`);
    const out = path.join(dir, 'app.zip');

    // When
    const run = await runPackageScript(['--out', out], { ENV_FILE: path.join(dir, 'teams.env') });

    // Then
    expect(run.code).toBe(0);
    expect((JSON.parse(readZip(readFileSync(out))[0]?.data.toString('utf8') ?? '{}') as Manifest).id).toBe(APP_ID);
  });

  it('refuses to package without MICROSOFT_APP_ID, saying where to find it, and writes nothing', async () => {
    // Given
    const out = path.join(tempDir(), 'app.zip');

    // When
    const run = await runPackageScript(['--out', out], {});

    // Then
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('MICROSOFT_APP_ID is not set. It is the Application (client) ID of the bot’s Microsoft Entra app registration');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an app id that is not a GUID without echoing it', async () => {
    const out = path.join(tempDir(), 'app.zip');
    const run = await runPackageScript(['--out', out], { MICROSOFT_APP_ID: 'kQ8~secret-looking-value' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('MICROSOFT_APP_ID is not a GUID');
    expect(run.stderr).not.toContain('secret-looking-value');
    expect(existsSync(out)).toBe(false);
  });
});
