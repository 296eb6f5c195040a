#!/usr/bin/env -S node --max-semi-space-size=64
// A larger young generation makes long log reads about 10% faster (fewer scavenges).
// The CLI is compiled by `npm run build` (run by `npm ci` / `npm install` through `prepare`).
import '../dist/src/cli/main.js';
