CREATE TABLE "teams_channels" (
	"channel_id" text PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"tenant_id" text NOT NULL,
	"service_url" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "teams_people" (
	"aad_object_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"tenant_id" text NOT NULL,
	"email" text NOT NULL,
	"service_url" text NOT NULL,
	"personal_conversation_id" text,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "teams_channels_team_id_idx" ON "teams_channels" USING btree ("team_id");--> statement-breakpoint
CREATE INDEX "teams_people_email_idx" ON "teams_people" USING btree ("email");