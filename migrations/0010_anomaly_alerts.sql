CREATE TYPE "public"."alert_rule" AS ENUM('offHours', 'breakGlass', 'firstGrant', 'requestSpike', 'ticketReuse', 'maxDuration', 'rubberStamp', 'reciprocal', 'overdueGrant', 'revocationFailing', 'drift', 'grantFailed', 'breakGlassUnreviewed', 'driftHeld');--> statement-breakpoint
CREATE TYPE "public"."alert_severity" AS ENUM('low', 'medium', 'high');--> statement-breakpoint
CREATE TABLE "alert_messages" (
	"platform" text NOT NULL,
	"alert_id" bigint NOT NULL,
	"channel" text NOT NULL,
	"message_id" text NOT NULL,
	"posted_at" timestamp with time zone NOT NULL,
	CONSTRAINT "alert_messages_pk" PRIMARY KEY("platform","alert_id")
);
--> statement-breakpoint
ALTER TABLE "alerts" ALTER COLUMN "kind" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ALTER COLUMN "request_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "rule" "alert_rule";--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "severity" "alert_severity";--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
-- NB: written by hand (drizzle-kit would add the columns NOT NULL at once, which fails on existing
-- rows): alerts raised before rules existed get the rule, severity and key the code now gives them,
-- so a revocation still failing after the upgrade is not alerted a second time. Keep these lines
-- when regenerating this migration.
UPDATE "alerts" SET
  "rule" = (CASE "kind"::text WHEN 'revocation_failing' THEN 'revocationFailing' WHEN 'grant_failed' THEN 'grantFailed' WHEN 'drift' THEN 'drift' WHEN 'drift_held' THEN 'driftHeld' ELSE 'breakGlassUnreviewed' END)::"alert_rule",
  "severity" = 'high',
  -- NB: drift alerts (kinds drift, drift_held) kept their own key in request_id before alerts had keys.
  -- "kind" is compared as text: PostgreSQL refuses an enum value added earlier in the same transaction.
  "dedupe_key" = (CASE WHEN "kind"::text IN ('drift', 'drift_held') THEN "request_id" ELSE "kind"::text || ':' || "request_id" END),
  "request_id" = (CASE WHEN "kind"::text IN ('drift', 'drift_held') THEN NULL ELSE "request_id" END);--> statement-breakpoint
ALTER TABLE "alerts" ALTER COLUMN "rule" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ALTER COLUMN "severity" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ALTER COLUMN "dedupe_key" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "acknowledged_by" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "acknowledged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "acknowledged_origin" jsonb;--> statement-breakpoint
ALTER TABLE "alert_messages" ADD CONSTRAINT "alert_messages_alert_id_alerts_id_fk" FOREIGN KEY ("alert_id") REFERENCES "public"."alerts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "access_requests_role_created_at_idx" ON "access_requests" USING btree ("role","created_at");--> statement-breakpoint
CREATE INDEX "access_requests_ticket_created_at_idx" ON "access_requests" USING btree (upper("ticket"),"created_at");--> statement-breakpoint
CREATE INDEX "access_requests_denied_by_denied_at_idx" ON "access_requests" USING btree ("denied_by","denied_at") WHERE "access_requests"."denied_by" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "alerts_open_raised_at_idx" ON "alerts" USING btree ("raised_at") WHERE "alerts"."acknowledged_at" IS NULL;--> statement-breakpoint
CREATE INDEX "approvals_approver_approved_at_idx" ON "approvals" USING btree ("approver","approved_at");--> statement-breakpoint
CREATE INDEX "grants_principal_role_granted_at_idx" ON "grants" USING btree ("principal","role","granted_at");--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_dedupe_key_unique" UNIQUE("dedupe_key");--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_acknowledged_whole" CHECK (("alerts"."acknowledged_by" IS NULL) = ("alerts"."acknowledged_at" IS NULL));