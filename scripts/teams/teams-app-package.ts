import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodePng, type RgbaImage } from './png';
import { writeZip } from './zip-writer';

/**
 * The Teams app package: manifests/teams/manifest.json with the bot's app id filled in, and its two
 * icons, checked against what Teams and prod-access need and zipped for upload
 * (`npm run teams:package`, README "Microsoft Teams").
 */

/** What packaging fills in, in `id` and `bots[0].botId`, from MICROSOFT_APP_ID. */
export const APP_ID_PLACEHOLDER = '${{MICROSOFT_APP_ID}}';
/** The package's files, in the order they are zipped: exactly these, at the root of the archive. */
export const PACKAGE_FILES = ['manifest.json', 'color.png', 'outline.png'] as const;
/** The bot's scopes, each needed: `personal` for the DMs (notices), `team` for the approvals and security channels. */
export const BOT_SCOPES = ['personal', 'team', 'groupChat'] as const;
/** Teams shows at most 10 commands per command list (schemas before 1.24 refuse more). */
export const MAX_COMMANDS = 10;

export type PackageBuild =
  | { readonly ok: true; readonly zip: Buffer; readonly manifest: string; readonly appId: string }
  | { readonly ok: false; readonly problems: readonly string[] };

const GUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
const NIL_GUID = '00000000-0000-0000-0000-000000000000';
// NB: the schema's own pattern for `version`.
const SEMVER = /^([0-9]|[1-9]+[0-9]*)\.([0-9]|[1-9]+[0-9]*)\.([0-9]|[1-9]+[0-9]*)$/;
const SCOPE_WHY: Readonly<Record<(typeof BOT_SCOPES)[number], string>> = {
  personal: 'without it the bot cannot send anyone a DM, and every notice goes to the person’s 1:1 chat',
  team: 'without it the bot cannot be added to a team, and approval cards and security summaries go to channels',
  groupChat: 'without it the bot cannot be used in group chats, as it can on Slack',
};
const TOP_LEVEL_FIELDS = new Set(['$schema', 'manifestVersion', 'version', 'id', 'developer', 'name', 'description', 'icons', 'accentColor', 'bots', 'validDomains']);
const BOT_FIELDS = new Set(['botId', 'scopes', 'isNotificationOnly', 'supportsFiles', 'supportsCalling', 'supportsVideo', 'needsChannelSelector', 'commandLists']);

/**
 * Reads the manifest and icons in `dir`, fills in `appId` (MICROSOFT_APP_ID) and checks everything
 * in one pass: every problem found is listed, each naming the file and field and what to do.
 */
export function buildTeamsAppPackage(dir: string, appId: string | undefined): PackageBuild {
  const problems: string[] = [];
  // NB: lower case, as the Entra admin center shows it and as tokens carry it in `aud`.
  const id = appId?.trim().toLowerCase() ?? '';
  if (id === '') {
    problems.push(
      'MICROSOFT_APP_ID is not set. It is the Application (client) ID of the bot’s Microsoft Entra app registration (README, “Microsoft Teams”); set it in the environment or in .env, then run npm run teams:package again.',
    );
  } else if (!GUID.test(id)) {
    // NB: the value is not echoed: a secret pasted into the wrong variable should not reach a terminal log.
    problems.push(`MICROSOFT_APP_ID is not a GUID like 8d1e2f3a-4b5c-4d6e-8f70-123456789abc (it has ${id.length} characters): copy the Application (client) ID from the app registration’s Overview page.`);
  } else if (id === NIL_GUID) {
    problems.push('MICROSOFT_APP_ID is the all-zero GUID, a placeholder: set the Application (client) ID of the bot’s app registration.');
  }
  const idUsable = problems.length === 0;

  const files = new Map<string, Buffer>();
  for (const name of PACKAGE_FILES) {
    const file = path.join(dir, name);
    if (!existsSync(file)) problems.push(`${name} is missing from ${dir}${name.endsWith('.png') ? ': regenerate the icons with npx tsx scripts/teams-icons.ts' : ''}.`);
    else files.set(name, readFileSync(file));
  }

  const template = files.get('manifest.json')?.toString('utf8');
  let manifestText: string | undefined;
  if (template !== undefined) {
    // NB: with no usable id the rest is still checked, with a stand-in, so that one run lists every problem.
    manifestText = template.split(APP_ID_PLACEHOLDER).join(idUsable ? id : NIL_GUID);
    problems.push(...checkTeamsManifest(manifestText, idUsable ? id : undefined));
  }
  const color = files.get('color.png');
  if (color) problems.push(...checkColorIcon(color));
  const outline = files.get('outline.png');
  if (outline) problems.push(...checkOutlineIcon(outline));

  if (problems.length > 0 || manifestText === undefined || !color || !outline) return { ok: false, problems };
  const zip = writeZip([
    { name: 'manifest.json', data: Buffer.from(manifestText, 'utf8') },
    { name: 'color.png', data: color },
    { name: 'outline.png', data: outline },
  ]);
  return { ok: true, zip, manifest: manifestText, appId: id };
}

/**
 * The manifest's problems (none: an empty list), as `manifest.json: <field>: <what is wrong>`.
 * `appId`, when given, is what `id` and `bots[0].botId` must be.
 */
export function checkTeamsManifest(text: string, appId: string | undefined): string[] {
  // NB: JSON.parse and Teams' upload both trip over a byte-order mark, which some editors add.
  if (text.startsWith('\uFEFF')) return ['manifest.json starts with a byte-order mark: save it as UTF-8 without BOM.'];
  const problems: string[] = [];
  const say = (field: string, message: string) => problems.push(`manifest.json: ${field}: ${message}`);
  const leftover = text.match(/\$\{\{[^}]*\}\}/g);
  if (leftover) say('placeholders', `${[...new Set(leftover)].join(', ')} not filled in: packaging fills in only ${APP_ID_PLACEHOLDER}.`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    return [...problems, `manifest.json is not valid JSON (${(error as Error).message}).`];
  }
  if (!isObject(manifest)) return [...problems, 'manifest.json is not a JSON object.'];

  for (const key of Object.keys(manifest)) {
    if (TOP_LEVEL_FIELDS.has(key)) continue;
    if (key === 'webApplicationInfo' || key === 'authorization' || key === 'permissions' || key === 'devicePermissions') {
      say(key, 'asks for permissions the bot does not need (it uses no Graph API, no single sign-on and no resource-specific consent); remove it (README, “Least permissions”).');
    } else {
      say(key, `is not a field prod-access’s app uses (it has ${[...TOP_LEVEL_FIELDS].join(', ')}); tabs, message extensions and the like would widen what the app can do: remove it.`);
    }
  }

  const version = manifest.manifestVersion;
  if (typeof version !== 'string' || !/^1\.\d+$/.test(version)) say('manifestVersion', 'must be a schema version like "1.30".');
  else if (manifest.$schema !== `https://developer.microsoft.com/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`) {
    say('$schema', `must be https://developer.microsoft.com/json-schemas/teams/v${version}/MicrosoftTeams.schema.json, the schema of manifestVersion ${version}.`);
  }
  if (typeof manifest.version !== 'string' || !SEMVER.test(manifest.version)) say('version', 'must be the app’s version as MAJOR.MINOR.PATCH, e.g. "1.0.0"; raise it whenever you upload a changed manifest.');
  checkId(say, 'id', manifest.id, appId);

  const developer = manifest.developer;
  if (!isObject(developer)) say('developer', 'is missing: an object with name, websiteUrl, privacyUrl and termsOfUseUrl.');
  else {
    checkText(say, 'developer.name', developer.name, 32);
    for (const key of ['websiteUrl', 'privacyUrl', 'termsOfUseUrl'] as const) {
      const url = developer[key];
      if (typeof url !== 'string' || !isHttpsUrl(url) || url.length > 2048) say(`developer.${key}`, 'must be an https:// URL (your intranet page for prod-access will do).');
    }
  }
  const name = manifest.name;
  if (!isObject(name)) say('name', 'is missing: an object with short (at most 30 characters) and full.');
  else {
    checkText(say, 'name.short', name.short, 30);
    if (name.full !== undefined) checkText(say, 'name.full', name.full, 100);
  }
  const description = manifest.description;
  if (!isObject(description)) say('description', 'is missing: an object with short (at most 80 characters) and full (at most 4,000).');
  else {
    checkText(say, 'description.short', description.short, 80);
    checkText(say, 'description.full', description.full, 4000);
    if (typeof description.short === 'string' && description.short === description.full) say('description.full', 'must differ from description.short.');
  }
  const icons = manifest.icons;
  if (!isObject(icons)) say('icons', 'is missing: { "color": "color.png", "outline": "outline.png" }.');
  else {
    if (icons.color !== 'color.png') say('icons.color', 'must be "color.png", the 192×192 icon at the root of the package.');
    if (icons.outline !== 'outline.png') say('icons.outline', 'must be "outline.png", the 32×32 icon at the root of the package.');
    for (const key of Object.keys(icons)) if (key !== 'color' && key !== 'outline') say(`icons.${key}`, 'is not packaged: the package holds only color.png and outline.png.');
  }
  if (typeof manifest.accentColor !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(manifest.accentColor)) say('accentColor', 'must be an HTML colour like "#1d2b36".');

  const bots = manifest.bots;
  if (!Array.isArray(bots) || bots.length !== 1 || !isObject(bots[0])) say('bots', 'must hold exactly one bot: prod-access.');
  else checkBot(say, bots[0], appId);

  const domains = manifest.validDomains;
  if (domains !== undefined) {
    if (!Array.isArray(domains) || domains.length > 100) say('validDomains', 'must be a list of at most 100 domain names.');
    else domains.forEach((d, i) => {
      if (typeof d !== 'string' || d === '' || d.length > 2048 || /[/:\s]/.test(d) || d === '*') say(`validDomains[${i}]`, 'must be a domain name like "prod-access.example.com" (no scheme, no path, not "*").');
    });
  }
  return problems;
}

type Say = (field: string, message: string) => void;

function checkBot(say: Say, bot: Record<string, unknown>, appId: string | undefined): void {
  for (const key of Object.keys(bot)) if (!BOT_FIELDS.has(key)) say(`bots[0].${key}`, `is not a bot field prod-access uses (${[...BOT_FIELDS].join(', ')}): remove it.`);
  checkId(say, 'bots[0].botId', bot.botId, appId);

  const scopes = bot.scopes;
  const botScopes = new Set<string>();
  if (!Array.isArray(scopes)) say('bots[0].scopes', `must list ${BOT_SCOPES.join(', ')}.`);
  else {
    for (const s of scopes) {
      if (typeof s !== 'string' || !(BOT_SCOPES as readonly string[]).includes(s)) say('bots[0].scopes', `${JSON.stringify(s)} is not one of ${BOT_SCOPES.join(', ')} (scope names are case-sensitive).`);
      else if (botScopes.has(s)) say('bots[0].scopes', `lists ${s} twice.`);
      else botScopes.add(s);
    }
    for (const s of BOT_SCOPES) if (!botScopes.has(s)) say('bots[0].scopes', `lacks ${s}: ${SCOPE_WHY[s]}.`);
  }
  if (bot.isNotificationOnly !== false) say('bots[0].isNotificationOnly', 'must be false: people message the bot to ask for access.');
  if (bot.supportsFiles !== false) say('bots[0].supportsFiles', 'must be false: the bot takes no files.');
  for (const key of ['supportsCalling', 'supportsVideo', 'needsChannelSelector'] as const) {
    if (bot[key] !== undefined && bot[key] !== false) say(`bots[0].${key}`, 'must be false or absent: the bot does not use it.');
  }

  const lists = bot.commandLists;
  if (!Array.isArray(lists) || lists.length === 0 || lists.length > 3) {
    say('bots[0].commandLists', 'must hold one to three command lists, together covering every scope of the bot.');
    return;
  }
  const covered = new Set<string>();
  lists.forEach((list: unknown, i) => {
    const at = `bots[0].commandLists[${i}]`;
    if (!isObject(list)) return say(at, 'must be an object with scopes and commands.');
    for (const key of Object.keys(list)) if (key !== 'scopes' && key !== 'commands') say(`${at}.${key}`, 'is not a command list field prod-access uses: remove it.');
    if (!Array.isArray(list.scopes) || list.scopes.length === 0) say(`${at}.scopes`, 'must name the scopes this list is for.');
    else {
      for (const s of list.scopes) {
        if (typeof s !== 'string' || !botScopes.has(s)) say(`${at}.scopes`, `${JSON.stringify(s)} is not one of the bot’s scopes.`);
        else if (covered.has(s)) say(`${at}.scopes`, `${s} already has a command list: one list per scope.`);
        else covered.add(s);
      }
    }
    const commands = list.commands;
    if (!Array.isArray(commands) || commands.length === 0) return say(`${at}.commands`, 'must list the commands for its scopes.');
    if (commands.length > MAX_COMMANDS) say(`${at}.commands`, `has ${commands.length} commands; Teams shows at most ${MAX_COMMANDS} per list.`);
    const titles = new Set<string>();
    commands.forEach((command: unknown, j) => {
      const c = `${at}.commands[${j}]`;
      if (!isObject(command)) return say(c, 'must be an object with title and description.');
      for (const key of Object.keys(command)) if (key !== 'title' && key !== 'description') say(`${c}.${key}`, 'is not a command field prod-access uses: remove it.');
      checkText(say, `${c}.title`, command.title, 32);
      checkText(say, `${c}.description`, command.description, 128);
      if (typeof command.title === 'string') {
        const key = command.title.toLowerCase();
        if (titles.has(key)) say(`${c}.title`, `${JSON.stringify(command.title)} is listed twice.`);
        titles.add(key);
      }
    });
  });
  for (const s of botScopes) if (!covered.has(s)) say('bots[0].commandLists', `no list covers ${s}: Teams shows no command menu there.`);
}

function checkId(say: Say, field: string, value: unknown, appId: string | undefined): void {
  if (typeof value !== 'string' || !GUID.test(value)) say(field, `must be a GUID: put ${APP_ID_PLACEHOLDER} there and let packaging fill it in.`);
  else if (appId !== undefined && value.toLowerCase() !== appId.toLowerCase()) say(field, `is ${value}, not MICROSOFT_APP_ID: put ${APP_ID_PLACEHOLDER} there and let packaging fill it in.`);
}

function checkText(say: Say, field: string, value: unknown, max: number): void {
  if (typeof value !== 'string' || value.trim() === '') say(field, `must be text of 1 to ${max} characters.`);
  else if ([...value].length > max) say(field, `has ${[...value].length} characters; at most ${max}.`);
}

/**
 * color.png: a 192×192 PNG whose symbol sits inside the central 96×96 on a solid or fully transparent
 * background (Teams crops the rest into a rounded square or a hexagon).
 */
export function checkColorIcon(bytes: Uint8Array): string[] {
  const read = decodePng(bytes);
  if (!read.ok) return [`color.png ${read.problem}.`];
  const { image } = read;
  if (image.width !== 192 || image.height !== 192) return [`color.png is ${image.width}×${image.height}; Teams needs 192×192.`];
  const padding: number[] = [];
  for (let y = 0; y < 192; y++) for (let x = 0; x < 192; x++) if (x < 48 || x >= 144 || y < 48 || y >= 144) padding.push(y * 192 + x);
  const first = pixel(image, padding[0] as number);
  const transparent = padding.every((i) => pixel(image, i)[3] === 0);
  const solid = padding.every((i) => sameRgba(pixel(image, i), first));
  const problems: string[] = [];
  if (!transparent && !solid) {
    const odd = padding.find((i) => !sameRgba(pixel(image, i), first)) as number;
    problems.push(
      `color.png: the 48-pixel border around the central 96×96 must be one solid colour or fully transparent (Teams crops it), but pixel (${odd % 192}, ${Math.floor(odd / 192)}) differs from (0, 0): keep the symbol inside the centre.`,
    );
  }
  if (problems.length === 0 && [...Array(192 * 192).keys()].every((i) => sameRgba(pixel(image, i), first))) problems.push('color.png is a single colour: it has no symbol.');
  return problems;
}

/**
 * outline.png: a 32×32 PNG of only white (255, 255, 255) and fully transparent pixels, with no
 * padding around the symbol (learn.microsoft.com, "Teams app package", Outline icon).
 */
export function checkOutlineIcon(bytes: Uint8Array): string[] {
  const read = decodePng(bytes);
  if (!read.ok) return [`outline.png ${read.problem}.`];
  const { image } = read;
  if (image.width !== 32 || image.height !== 32) return [`outline.png is ${image.width}×${image.height}; Teams needs 32×32.`];
  const wrong: number[] = [];
  let [left, top, right, bottom] = [32, 32, -1, -1];
  for (let i = 0; i < 32 * 32; i++) {
    const [r, g, b, a] = pixel(image, i);
    if (a === 0) continue;
    if (r !== 255 || g !== 255 || b !== 255) wrong.push(i);
    const [x, y] = [i % 32, Math.floor(i / 32)];
    [left, top, right, bottom] = [Math.min(left, x), Math.min(top, y), Math.max(right, x), Math.max(bottom, y)];
  }
  if (right < 0) return ['outline.png is fully transparent: it has no symbol.'];
  const problems: string[] = [];
  if (wrong.length > 0) {
    const i = wrong[0] as number;
    const [r, g, b, a] = pixel(image, i);
    problems.push(
      `outline.png may hold only white (255, 255, 255) and fully transparent pixels; ${wrong.length} pixel${wrong.length === 1 ? ' is' : 's are'} neither, the first at (${i % 32}, ${Math.floor(i / 32)}): rgba(${r}, ${g}, ${b}, ${a}).`,
    );
  }
  if (!((top === 0 && bottom === 31) || (left === 0 && right === 31))) {
    problems.push(`outline.png has padding around the symbol (it spans x ${left}–${right}, y ${top}–${bottom}): Teams wants it to fill the 32×32, edge to edge in at least one direction.`);
  }
  return problems;
}

function pixel(image: RgbaImage, index: number): readonly [number, number, number, number] {
  const p = image.pixels;
  const o = index * 4;
  return [p[o] as number, p[o + 1] as number, p[o + 2] as number, p[o + 3] as number];
}

function sameRgba(a: readonly number[], b: readonly number[]): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}
