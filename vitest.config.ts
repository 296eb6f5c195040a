import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
    // Setup hooks build the CLI (tsc) or start real servers (nats-server, Chromium): on a busy
    // 2-core machine that can take longer than vitest's default 10 s.
    hookTimeout: 120_000,
  },
});
