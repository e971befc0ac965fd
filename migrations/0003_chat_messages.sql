CREATE TABLE "chat_messages" (
	"platform" text NOT NULL,
	"request_id" text NOT NULL,
	"channel" text NOT NULL,
	"message_id" text NOT NULL,
	"posted_at" timestamp with time zone NOT NULL,
	CONSTRAINT "chat_messages_pk" PRIMARY KEY("platform","request_id")
);
