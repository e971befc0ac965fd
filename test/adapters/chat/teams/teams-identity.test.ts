import { admitTeamsMember, commandText, isOurTenant, type TeamsMember } from '../../../../src/adapters/chat/teams/teams-identity';
import { email, type Email } from '../../../../src/domain/email';

const TENANT = 'aaaaaaaa-0000-4000-8000-000000000001';
const OTHER = 'bbbbbbbb-0000-4000-8000-000000000002';
const carol: TeamsMember = { id: '29:carol', aadObjectId: 'C0000000-0000-4000-8000-00000000CA01', email: 'Carol@Example.com', userRole: 'user', tenantId: TENANT, userPrincipalName: 'carol@example.com' };
const from = { id: '29:carol', aadObjectId: 'c0000000-0000-4000-8000-00000000ca01' };
const noGuests = new Set<Email>();

describe('admitTeamsMember', () => {
  it('admits a member of our tenant by the e-mail Teams gives, lower-cased, with the Entra object id', () => {
    expect(admitTeamsMember(carol, from, [TENANT], noGuests)).toEqual({ ok: true, email: 'carol@example.com', aadObjectId: 'c0000000-0000-4000-8000-00000000ca01', userId: '29:carol', tenantId: TENANT });
  });

  it.each([
    ['nobody Teams knows', undefined, from, /does not know your user/],
    ['a bot', { ...carol, id: '28:otherbot' }, { id: '28:otherbot' }, /Bots cannot/],
    ['a bot posing as a person', carol, { ...from, role: 'bot' }, /Bots cannot/],
    ['an anonymous meeting participant', { ...carol, userRole: 'anonymous' }, from, /Entra account/],
    ['an account without an Entra object id', { id: '29:carol', email: 'carol@example.com', tenantId: TENANT }, from, /Entra account/],
    ['a look-up of another account than the one who wrote', { ...carol, aadObjectId: 'd0000000-0000-4000-8000-00000000da7e' }, from, /another account/],
    ['a look-up of another user id', { ...carol, id: '29:someone-else' }, from, /another user/],
    ['a member of another tenant', { ...carol, tenantId: OTHER }, from, /another one/],
    ['a member whose tenant Teams does not say', { ...carol, tenantId: undefined } as TeamsMember, from, /another one/],
    ['a member without an e-mail', { ...carol, email: undefined } as TeamsMember, from, /cannot see an e-mail/],
    ['a member whose e-mail is not an address', { ...carol, email: 'carol at example' }, from, /cannot see an e-mail/],
    ['a guest the policy does not list', { ...carol, userRole: 'guest' }, from, /guest account/],
    ['a guest by UPN (#EXT#) whatever the role says', { ...carol, userPrincipalName: 'carol_example.com#EXT#@host.onmicrosoft.com' }, from, /guest account/],
  ])('refuses %s, saying why', (_, member, who, why) => {
    const identity = admitTeamsMember(member, who, [TENANT], noGuests);
    expect(identity.ok).toBe(false);
    if (!identity.ok) expect(identity.message).toMatch(why);
  });

  it('admits a guest whose exact address the policy lists under guests', () => {
    expect(admitTeamsMember({ ...carol, userRole: 'guest' }, from, [TENANT], new Set([email('carol@example.com')]))).toMatchObject({ ok: true, email: 'carol@example.com' });
  });
});

describe('isOurTenant', () => {
  it('needs every tenant the activity names to be ours, and at least one', () => {
    expect(isOurTenant([TENANT], { tenantIds: [TENANT.toUpperCase(), TENANT] })).toBe(true);
    expect(isOurTenant([TENANT], { tenantIds: [TENANT, OTHER] })).toBe(false);
    expect(isOurTenant([TENANT], { tenantIds: [undefined, ''] })).toBe(false);
  });

  it('takes any tenant when none is configured (anonymous mode without TEAMS_TENANTS)', () => {
    expect(isOurTenant([], { tenantIds: [OTHER] })).toBe(true);
  });
});

describe('commandText', () => {
  const bot = '28:11111111-2222-4333-8444-555555555555';
  const mention = (id: string, text = '<at>prod-access</at>') => ({ type: 'mention', text, mentioned: { id } });

  it('drops the bot’s own mention, wherever it is', () => {
    expect(commandText('<at>prod-access</at> roles', [mention(bot)], bot)).toBe('roles');
    expect(commandText('status ABCDEFGH <at>prod-access</at>', [mention(bot)], bot)).toBe('status ABCDEFGH');
  });

  it('keeps mentions of other people, and text that only looks like a mention of the bot', () => {
    expect(commandText('<at>prod-access</at> sandbox-admin 1h OPS-1 ask <at>Alice</at>', [mention(bot), mention('29:alice', '<at>Alice</at>')], bot)).toBe('sandbox-admin 1h OPS-1 ask <at>Alice</at>');
    expect(commandText('<at>prod-access</at> roles', [], bot)).toBe('<at>prod-access</at> roles');
    expect(commandText('<at>prod-access</at> roles', [mention('28:another-bot')], bot)).toBe('<at>prod-access</at> roles');
  });

  it('removes one occurrence per mention entity, and only its exact <at>…</at> text', () => {
    expect(commandText('<at>prod-access</at> sandbox-admin 1h OPS-1 tell <at>prod-access</at> twice', [mention(bot)], bot)).toBe('sandbox-admin 1h OPS-1 tell <at>prod-access</at> twice');
    expect(commandText('roles', [mention(bot, 'roles')], bot)).toBe('roles');
  });

  it('takes commands copied from the help with the slash command in front', () => {
    expect(commandText('/prod-access roles', [], bot)).toBe('roles');
    expect(commandText('prod-access   help', [], bot)).toBe('help');
    expect(commandText('prod-accessx help', [], bot)).toBe('prod-accessx help');
    expect(commandText(undefined, undefined, bot)).toBe('');
  });
});
