ALTER TABLE "access_requests" ADD COLUMN "os_user" text;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "denied_os_user" text;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "ended_os_user" text;--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "os_user" text;