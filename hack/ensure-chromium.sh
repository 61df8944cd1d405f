#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is available for the browser tests of the
# store's pages (internal/store/ui): installs Debian's chromium package when missing
# and running as root, else says what to install. $CHROMIUM_PATH, if set, names the
# browser to use instead.
set -euo pipefail

find_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ]; then
    [ -x "$CHROMIUM_PATH" ] && return 0
    echo "chromium: \$CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file" >&2
    return 1
  fi
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  return 1
}

find_chromium && exit 0
if [ -z "${CHROMIUM_PATH:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium: Chromium missing; installing Debian's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  find_chromium && exit 0
fi
cat >&2 <<'MSG'
chromium: the browser tests of the store's pages need Chromium (chromium,
chromium-browser or google-chrome on PATH, or $CHROMIUM_PATH) and none was found.
Install it, for example:
    sudo apt-get install chromium          # Debian/Ubuntu
    brew install --cask chromium           # macOS
MSG
exit 1
