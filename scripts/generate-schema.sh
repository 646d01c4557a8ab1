#!/usr/bin/env bash
# Regenerates the flatc outputs from schemas/quotecast.fbs. CI runs this with --check and fails
# if the committed files differ from what the installed flatc generates.
set -euo pipefail
cd "$(dirname "$0")/.."
out_cpp=Sources/CQuotecastSchema/generated
out_py=schemas/generated/python
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flatc --cpp --scoped-enums -o "$tmp/cpp" schemas/quotecast.fbs
flatc --python -o "$tmp/python" schemas/quotecast.fbs
if [ "${1:-}" = "--check" ]; then
  diff -r "$tmp/cpp" "$out_cpp" && diff -r "$tmp/python" "$out_py" || {
    echo "generated schema code is stale: run scripts/generate-schema.sh" >&2
    exit 1
  }
  echo "generated schema code matches schemas/quotecast.fbs"
else
  rm -rf "$out_cpp" "$out_py"
  mkdir -p "$out_cpp" "$out_py"
  cp -r "$tmp/cpp/." "$out_cpp/"
  cp -r "$tmp/python/." "$out_py/"
  echo "generated into $out_cpp and $out_py"
fi
