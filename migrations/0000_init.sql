CREATE TYPE "public"."end_cause" AS ENUM('expired', 'revoked_early', 'policy_changed', 'grant_failed', 'parent_ended');--> statement-breakpoint
CREATE TYPE "public"."request_kind" AS ENUM('access', 'extension');--> statement-breakpoint
CREATE TYPE "public"."request_state" AS ENUM('pending', 'approved', 'active', 'revoking', 'revoked', 'denied', 'cancelled', 'timed_out', 'failed');--> statement-breakpoint
CREATE TABLE "access_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" "request_kind" NOT NULL,
	"parent_id" text,
	"requester" text NOT NULL,
	"role" text NOT NULL,
	"provider" text NOT NULL,
	"target" jsonb NOT NULL,
	"duration_minutes" integer NOT NULL,
	"ticket" text NOT NULL,
	"reason" text NOT NULL,
	"break_glass" boolean NOT NULL,
	"state" "request_state" NOT NULL,
	"approvals_required" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"decision_deadline" timestamp with time zone NOT NULL,
	"denied_by" text,
	"denied_at" timestamp with time zone,
	"denial_reason" text,
	"ended_at" timestamp with time zone,
	"end_cause" "end_cause",
	"ended_by" text,
	"policy_sha" text NOT NULL,
	"version" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "active_policy" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"sha256" text NOT NULL,
	"activated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "active_policy_single_row" CHECK ("active_policy"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "approvals" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "approvals_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"request_id" text NOT NULL,
	"approver" text NOT NULL,
	"approved_at" timestamp with time zone NOT NULL,
	CONSTRAINT "approvals_request_id_approver_unique" UNIQUE("request_id","approver")
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"request_id" text,
	"data" jsonb NOT NULL,
	"prev_hash" char(64) NOT NULL,
	"hash" char(64) NOT NULL,
	CONSTRAINT "audit_events_hash_unique" UNIQUE("hash"),
	CONSTRAINT "audit_events_seq_positive" CHECK ("audit_events"."seq" >= 1)
);
--> statement-breakpoint
CREATE TABLE "grants" (
	"request_id" text PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"target" jsonb NOT NULL,
	"principal" text NOT NULL,
	"role" text NOT NULL,
	"granted_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoke_attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"last_error" text,
	"revoked_at" timestamp with time zone,
	"access_removed" boolean
);
--> statement-breakpoint
CREATE TABLE "local_iam_memberships" (
	"principal" text NOT NULL,
	"role" text NOT NULL,
	"target_key" text NOT NULL,
	"granted_at" timestamp with time zone NOT NULL,
	CONSTRAINT "local_iam_memberships_pk" PRIMARY KEY("principal","role","target_key")
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"sha256" text PRIMARY KEY NOT NULL,
	"text" text NOT NULL,
	"first_activated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "access_requests" ADD CONSTRAINT "access_requests_parent_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."access_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "active_policy" ADD CONSTRAINT "active_policy_sha256_policies_sha256_fk" FOREIGN KEY ("sha256") REFERENCES "public"."policies"("sha256") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_request_id_access_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."access_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_request_id_access_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."access_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "access_requests_requester_created_at_idx" ON "access_requests" USING btree ("requester","created_at");--> statement-breakpoint
CREATE INDEX "access_requests_created_at_idx" ON "access_requests" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "access_requests_state_idx" ON "access_requests" USING btree ("state");--> statement-breakpoint
CREATE INDEX "audit_events_occurred_at_idx" ON "audit_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "grants_expires_at_idx" ON "grants" USING btree ("expires_at");