#!/usr/bin/env bash
# Regenerates the flatc outputs from schemas/quotecast.fbs. CI runs this with --check and fails
# if the committed files differ from what the installed flatc generates.
set -euo pipefail
cd "$(dirname "$0")/.."
out_cpp=Sources/CQuotecastSchema/generated
out_py=schemas/generated/python
out_ts=schemas/generated/ts
# The page's readers: flatc's TypeScript compiled by tsc (Debian node-typescript) against our runtime.
out_js=Sources/Edge/Web/feed
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flatc --cpp --scoped-enums -o "$tmp/cpp" schemas/quotecast.fbs
flatc --python -o "$tmp/python" schemas/quotecast.fbs
flatc --ts -o "$tmp/ts" schemas/quotecast.fbs
if [ "${1:-}" = "--check" ]; then
  mkdir -p "$tmp/tsconfig"
  sed "s#generated/ts/\*\*#$tmp/ts/**#" schemas/tsconfig.json > "$tmp/tsconfig/tsconfig.json"
  tsc -p "$tmp/tsconfig/tsconfig.json" --baseUrl "$PWD/schemas" --rootDir "$tmp/ts" --outDir "$tmp/js" >&2
  diff -r "$tmp/cpp" "$out_cpp" && diff -r "$tmp/python" "$out_py" && diff -r "$tmp/ts" "$out_ts" \
    && diff -r "$tmp/js" "$out_js" || {
    echo "generated schema code is stale: run scripts/generate-schema.sh" >&2
    exit 1
  }
  echo "generated schema code matches schemas/quotecast.fbs"
else
  rm -rf "$out_cpp" "$out_py" "$out_ts" "$out_js"
  mkdir -p "$out_cpp" "$out_py" "$out_ts"
  cp -r "$tmp/cpp/." "$out_cpp/"
  cp -r "$tmp/python/." "$out_py/"
  cp -r "$tmp/ts/." "$out_ts/"
  tsc -p schemas/tsconfig.json >&2
  echo "generated into $out_cpp, $out_py, $out_ts and $out_js"
fi
