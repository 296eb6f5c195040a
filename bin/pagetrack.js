#!/usr/bin/env node
// The CLI is compiled by `npm run build` (run by `npm ci` / `npm install` through `prepare`).
import '../dist/src/cli/main.js';
