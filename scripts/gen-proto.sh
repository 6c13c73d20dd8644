#!/usr/bin/env bash
# Compiles proto/*.proto into a static protobufjs module and its TypeScript declarations.
# Runs on `npm ci` (prepare) so the generated code is never stale or committed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/protocol/generated
mkdir -p "$out"
tmp=$(mktemp --suffix=.js)
npx pbjs -t static-module -w es6 --keep-case --force-number --no-delimited -o "$tmp" proto/*.proto
npx pbts -o "$out/kkm.d.ts" "$tmp"
npx pbjs -t static-module -w es6 --keep-case --force-number --no-delimited --no-comments -o "$out/kkm.js" proto/*.proto
rm -f "$tmp"
# A JSON descriptor too: the lenient decoder (codec.ts) builds a required-free copy from it.
npx pbjs -t json --keep-case -o "$out/kkm.json" proto/*.proto
