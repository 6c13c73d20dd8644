#!/usr/bin/env bash
# Compiles proto/*.proto (2.0.2) and proto/v203/*.proto (2.0.3) into the JSON descriptors the
# server loads at run time (reflection: measured faster than protobufjs static code, see README
# "Protocol codec") and the TypeScript
# declarations that type it. Runs on `npm ci` (prepare), so nothing generated is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/protocol/generated
mkdir -p "$out"
# One descriptor per protocol revision: proto/ is 2.0.2 (VERSION 200-202), proto/v203/ is 2.0.3.
compile() {
  local name=$1 dir=$2
  npx pbjs -t json --keep-case -o "$out/$name.json" "$dir"/*.proto
  # Declarations come from the static module's JSDoc; the module itself is not used.
  local tmp
  tmp=$(mktemp --suffix=.js)
  npx pbjs -t static-module -w es6 --keep-case --force-number --no-delimited -o "$tmp" "$dir"/*.proto
  npx pbts -o "$out/$name.d.ts" "$tmp"
  rm -f "$tmp" "$out/$name.js"
}
compile kkm proto
compile kkm203 proto/v203
