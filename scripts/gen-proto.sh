#!/usr/bin/env bash
# Compiles proto/*.proto into the JSON descriptor the server loads at run time (reflection:
# measured faster than protobufjs static code, see README "Protocol codec") and the TypeScript
# declarations that type it. Runs on `npm ci` (prepare), so nothing generated is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/protocol/generated
mkdir -p "$out"
npx pbjs -t json --keep-case -o "$out/kkm.json" proto/*.proto
# Declarations come from the static module's JSDoc; the module itself is not used.
tmp=$(mktemp --suffix=.js)
npx pbjs -t static-module -w es6 --keep-case --force-number --no-delimited -o "$tmp" proto/*.proto
npx pbts -o "$out/kkm.d.ts" "$tmp"
rm -f "$tmp" "$out/kkm.js"
