import { defineConfig } from 'drizzle-kit';

// NB: `drizzle-kit generate` only reads the schema; migrations are applied by `openDatabase` on start.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/adapters/store/schema.ts',
  out: './migrations',
  strict: true,
});
