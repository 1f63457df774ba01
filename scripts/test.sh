#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing
# (Debian's redis-server, redis-sentinel, redis-tools, python3-redis; the
# tests compare picket with the real 7.0.15 binaries; strace counts
# fdatasync calls in one AOF test; node, npm and the pinned ioredis for the
# client tests), then runs every test of the
# workspace (all of them, even after a failure; the exit status is non-zero
# if any failed). Extra arguments go to `cargo test` (e.g. `-p picket-server`).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(redis-server redis-sentinel redis-tools python3-redis strace)

# apt-get install "$@", as root or through sudo
apt_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "test.sh: need root or sudo to install $*" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "test.sh: installing ${missing[*]}" >&2
    apt_install "${PKGS[@]}"
    # the packages start services on the default ports; tests never use them
    SUDO=()
    [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
    "${SUDO[@]}" service redis-server stop >/dev/null 2>&1 || true
    "${SUDO[@]}" service redis-sentinel stop >/dev/null 2>&1 || true
fi
for b in redis-server redis-sentinel redis-cli redis-benchmark; do
    command -v "$b" >/dev/null || { echo "test.sh: $b not on PATH after install" >&2; exit 1; }
done

# ioredis for ha-tests/tests/clients.rs: Debian's node and npm when there is
# no node, then the pinned package-lock.json.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "test.sh: installing nodejs npm" >&2
    apt_install nodejs npm
fi
if [ ! -d ha-tests/tests/clients/node_modules/ioredis ]; then
    npm ci --prefix ha-tests/tests/clients --no-audit --no-fund
fi

exec cargo test --workspace --no-fail-fast "$@"
