#!/usr/bin/env bash
# Installs everything quotecast needs on a fresh Debian 12 machine. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2: the multi-gateway test builds network namespaces with `ip netns`.
# node-typescript: tsc compiles the page's flatc-generated readers; chromium: the page's headless test.
APT_PACKAGES=(liburing-dev libflatbuffers-dev flatbuffers-compiler zlib1g-dev python3-venv iproute2 node-typescript
  chromium)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python tools for the interop tests and the itch-book comparison, in a venv under the repo.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# flatbuffers: the non-Swift reader; itch-book: the independent reference book and benchmark peer;
# websockets: the WebSocket edge's Python client.
if ! .venv/bin/python -c 'import flatbuffers, pytest, itch_book, websockets' 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check 'flatbuffers>=23' 'pytest>=7' 'itch-book>=0.2.1' \
    'websockets>=12'
fi
echo "setup: ok"
