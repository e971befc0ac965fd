CREATE TYPE "public"."drift_run_state" AS ENUM('running', 'done', 'held', 'approved', 'failed', 'abandoned');--> statement-breakpoint
CREATE TYPE "public"."drift_run_trigger" AS ENUM('schedule', 'cli', 'approval');--> statement-breakpoint
ALTER TYPE "public"."alert_kind" ADD VALUE 'drift';--> statement-breakpoint
ALTER TYPE "public"."alert_kind" ADD VALUE 'drift_held';--> statement-breakpoint
CREATE TABLE "drift_runs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "drift_runs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"trigger" "drift_run_trigger" NOT NULL,
	"scheduled_for" timestamp with time zone,
	"state" "drift_run_state" NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"listed" integer DEFAULT 0 NOT NULL,
	"unexpected" integer DEFAULT 0 NOT NULL,
	"missing" integer DEFAULT 0 NOT NULL,
	"revoked" integer DEFAULT 0 NOT NULL,
	"revoke_failed" integer DEFAULT 0 NOT NULL,
	"held" boolean DEFAULT false NOT NULL,
	"held_reason" text,
	"approves_run" bigint,
	"approved_by" text,
	"approved_at" timestamp with time zone,
	"approved_os_user" text,
	"providers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"findings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	CONSTRAINT "drift_runs_scheduled_for_unique" UNIQUE("scheduled_for")
);
--> statement-breakpoint
CREATE INDEX "drift_runs_started_at_idx" ON "drift_runs" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "audit_events_request_id_idx" ON "audit_events" USING btree ("request_id");