CREATE TABLE "chat_deliveries" (
	"key" text PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "chat_deliveries_received_at_idx" ON "chat_deliveries" USING btree ("received_at");