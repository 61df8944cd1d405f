#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, postgres) are available for the store's
# tests: installs Debian's postgresql package when missing and running as root, else
# says what to install.
set -euo pipefail

find_pg() {
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

find_pg && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "postgres: PostgreSQL server binaries missing; installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  find_pg && exit 0
fi
cat >&2 <<'MSG'
postgres: the store's tests need PostgreSQL server binaries (initdb, postgres) and none
were found on PATH or in /usr/lib/postgresql/*/bin. Install them, for example:
    sudo apt-get install postgresql        # Debian/Ubuntu
    brew install postgresql                # macOS
MSG
exit 1
