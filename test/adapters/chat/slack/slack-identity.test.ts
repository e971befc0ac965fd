import { admitSlackUser, isOurWorkspace, type SlackProfile } from '../../../../src/adapters/chat/slack/slack-identity';
import { email } from '../../../../src/domain/email';

const member: SlackProfile = { id: 'U1', teamId: 'T0OURS', deleted: false, isBot: false, isAppUser: false, isGuest: false, isStranger: false, emailConfirmed: true, email: 'Bob@Example.com' };
const workspace = { teamId: 'T0OURS' };
const grid = { teamId: 'T0OURS', enterpriseId: 'E0ORG' };
const noGuests = new Set<ReturnType<typeof email>>();

describe('admitSlackUser', () => {
  it('admits a confirmed full member of our workspace, by lower-cased e-mail', () => {
    expect(admitSlackUser(member, workspace, noGuests)).toEqual({ ok: true, email: 'bob@example.com', userId: 'U1', teamId: 'T0OURS' });
  });

  it.each<[string, Partial<SlackProfile>, RegExp]>([
    ['an unconfirmed e-mail', { emailConfirmed: false }, /not confirmed/],
    ['no e-mail', { email: undefined }, /cannot see a verified e-mail/],
    ['a multi- or single-channel guest', { isGuest: true }, /guest account/],
    ['an app user', { isAppUser: true }, /app user account/],
    ['a bot', { isBot: true }, /Bots cannot/],
    ['a deactivated account', { deleted: true }, /deactivated/],
    ['a member of another workspace', { teamId: 'T0OTHER' }, /another one/],
    ['a Slack Connect stranger', { isStranger: true }, /another one/],
    ['a profile without a team', { teamId: undefined }, /another one/],
  ])('refuses %s, saying why', (_, change, why) => {
    const refused = admitSlackUser({ ...member, ...change }, workspace, noGuests);
    expect(refused).toEqual({ ok: false, message: expect.stringMatching(why) });
  });

  it('refuses a user Slack does not know', () => {
    expect(admitSlackUser(undefined, workspace, noGuests)).toEqual({ ok: false, message: 'Slack does not know your user.' });
  });

  it('admits a guest or app user only when the policy lists their exact address, and never one with an unconfirmed e-mail', () => {
    const listed = new Set([email('bob@example.com')]);
    expect(admitSlackUser({ ...member, isGuest: true }, workspace, listed).ok).toBe(true);
    expect(admitSlackUser({ ...member, isAppUser: true }, workspace, listed).ok).toBe(true);
    expect(admitSlackUser({ ...member, isGuest: true, emailConfirmed: false }, workspace, listed).ok).toBe(false);
    expect(admitSlackUser({ ...member, isGuest: true, teamId: 'T0OTHER' }, workspace, listed).ok).toBe(false);
  });

  it('in a Grid organisation admits members of any of its workspaces, and nobody outside it', () => {
    expect(admitSlackUser({ ...member, teamId: 'T0SISTER', enterpriseId: 'E0ORG' }, grid, noGuests).ok).toBe(true);
    expect(admitSlackUser({ ...member, teamId: 'T0OURS', enterpriseId: 'E0OTHER' }, grid, noGuests).ok).toBe(false);
    expect(admitSlackUser({ ...member, teamId: 'T0OURS' }, grid, noGuests).ok).toBe(false);
  });
});

describe('isOurWorkspace', () => {
  it('accepts a payload whose every named team is ours', () => {
    expect(isOurWorkspace(workspace, { teamIds: ['T0OURS', 'T0OURS'] })).toBe(true);
    expect(isOurWorkspace(workspace, { teamIds: ['T0OURS', undefined] })).toBe(true);
  });

  it('refuses a payload naming another team, no team, or a Grid organisation we do not serve', () => {
    expect(isOurWorkspace(workspace, { teamIds: ['T0OURS', 'T0OTHER'] })).toBe(false);
    expect(isOurWorkspace(workspace, { teamIds: [undefined, ''] })).toBe(false);
    expect(isOurWorkspace(workspace, { teamIds: ['T0OURS'], enterpriseId: 'E0ORG' })).toBe(false);
  });

  it('in a Grid organisation goes by the organisation', () => {
    expect(isOurWorkspace(grid, { teamIds: ['T0SISTER'], enterpriseId: 'E0ORG' })).toBe(true);
    expect(isOurWorkspace(grid, { teamIds: ['T0OURS'] })).toBe(false);
  });
});
