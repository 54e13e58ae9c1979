#!/usr/bin/env bash
# Compiles every app and library into dist/ in one TypeScript program, then rewrites the @sandbox/*
# path aliases into relative requires so `node dist/apps/<app>/src/main.js` runs without a loader.
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
ensure_node_modules
npx tsc -p tsconfig.build.json
npx tsc-alias -p tsconfig.build.json
