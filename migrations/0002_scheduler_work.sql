CREATE TYPE "public"."alert_kind" AS ENUM('revocation_failing', 'grant_failed', 'break_glass_unreviewed');--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "alerts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"kind" "alert_kind" NOT NULL,
	"request_id" text NOT NULL,
	"raised_at" timestamp with time zone NOT NULL,
	"message" text NOT NULL,
	CONSTRAINT "alerts_kind_request_id_unique" UNIQUE("kind","request_id")
);
--> statement-breakpoint
CREATE TABLE "notification_cursors" (
	"notifier" text PRIMARY KEY NOT NULL,
	"last_seq" bigint NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"last_error" text
);
--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "grant_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "next_grant_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "grant_lease_owner" text;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "grant_lease_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "last_grant_error" text;--> statement-breakpoint
ALTER TABLE "grants" ADD COLUMN "expiry_notice_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "alerts_raised_at_idx" ON "alerts" USING btree ("raised_at");