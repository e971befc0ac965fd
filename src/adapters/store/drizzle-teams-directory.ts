import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { TeamsChannel, TeamsDirectoryStore, TeamsPerson } from '../chat/teams/teams-directory';
import type { Email } from '../../domain/email';
import { asStoreFailure, type StoreDatabase } from './open-database';
import { teamsChannels, teamsPeople } from './schema';

/** `TeamsDirectoryStore` on Drizzle (PGlite and PostgreSQL); rows stay in this file. */
export class DrizzleTeamsDirectory implements TeamsDirectoryStore {
  constructor(private readonly db: StoreDatabase) {}

  channel(channelId: string): Promise<TeamsChannel | undefined> {
    return guard('teams channel', async () => {
      const [row] = await this.db
        .select({ channelId: teamsChannels.channelId, teamId: teamsChannels.teamId, tenantId: teamsChannels.tenantId, serviceUrl: teamsChannels.serviceUrl })
        .from(teamsChannels)
        .where(eq(teamsChannels.channelId, channelId));
      return row;
    });
  }

  saveChannels(channels: readonly TeamsChannel[], at: Date): Promise<void> {
    return guard('save teams channels', async () => {
      if (channels.length === 0) return;
      await this.db
        .insert(teamsChannels)
        .values(channels.map((c) => ({ ...c, updatedAt: at })))
        .onConflictDoUpdate({
          target: teamsChannels.channelId,
          set: { teamId: sql`excluded.team_id`, tenantId: sql`excluded.tenant_id`, serviceUrl: sql`excluded.service_url`, updatedAt: sql`excluded.updated_at` },
        });
    });
  }

  forgetChannel(channelId: string): Promise<void> {
    return guard('forget teams channel', async () => {
      await this.db.delete(teamsChannels).where(eq(teamsChannels.channelId, channelId));
    });
  }

  forgetTeam(teamId: string): Promise<void> {
    return guard('forget team', async () => {
      await this.db.delete(teamsChannels).where(eq(teamsChannels.teamId, teamId));
    });
  }

  personByEmail(email: Email, tenants: readonly string[]): Promise<TeamsPerson | undefined> {
    return guard('teams person', async () => {
      const [row] = await this.db
        .select()
        .from(teamsPeople)
        .where(tenants.length > 0 ? and(eq(teamsPeople.email, email), inArray(teamsPeople.tenantId, [...tenants])) : eq(teamsPeople.email, email))
        // NB: the latest word wins: an address that moved to another account names that account.
        .orderBy(desc(teamsPeople.updatedAt))
        .limit(1);
      if (!row) return undefined;
      return {
        aadObjectId: row.aadObjectId,
        userId: row.userId,
        tenantId: row.tenantId,
        email: row.email as Email,
        serviceUrl: row.serviceUrl,
        ...(row.personalConversationId ? { personalConversationId: row.personalConversationId } : {}),
      };
    });
  }

  savePeople(people: readonly TeamsPerson[], at: Date): Promise<void> {
    return guard('save teams people', async () => {
      // NB: one statement per person: a roster may name someone twice, which one INSERT … ON CONFLICT refuses.
      for (const person of people) {
        await this.db
          .insert(teamsPeople)
          .values({ ...person, personalConversationId: person.personalConversationId ?? null, updatedAt: at })
          .onConflictDoUpdate({
            target: teamsPeople.aadObjectId,
            set: {
              userId: person.userId,
              tenantId: person.tenantId,
              email: person.email,
              serviceUrl: person.serviceUrl,
              updatedAt: at,
              ...(person.personalConversationId ? { personalConversationId: person.personalConversationId } : {}),
            },
          });
      }
    });
  }

  forgetPersonalConversation(aadObjectId: string): Promise<void> {
    return guard('forget teams 1:1 chat', async () => {
      await this.db.update(teamsPeople).set({ personalConversationId: null }).where(eq(teamsPeople.aadObjectId, aadObjectId));
    });
  }
}

async function guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asStoreFailure(error, operation);
  }
}
