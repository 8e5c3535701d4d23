#!/usr/bin/env bash
# Install the system packages the browser tests and file checks need:
#   - Debian's chromium (driven by PyPI playwright with executable_path=/usr/bin/chromium;
#     `playwright install` cannot download browsers on this network)
#   - libmagic1 (used by python-magic)
#   - postgresql-15-auto-failover (pg_autoctl: `make ha`, the automatic fail-over run)
#   - clamav-daemon (clamd: tests/test_clamd.py starts its own, on a socket under the test's
#     folder, with a local signature file; no freshclam, nothing downloaded at test time)
# Idempotent: does nothing when all are present.
set -euo pipefail

pkgs=()
if [ ! -x /usr/bin/chromium ]; then
    pkgs+=(chromium)
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'; then
    pkgs+=(libmagic1)
fi

if [ ! -x /usr/sbin/clamd ]; then
    pkgs+=(clamav-daemon)
fi

# pg_auto_failover (make ha: the monitor and keepers of the fail-over run), for PostgreSQL 15.
if [ ! -x /usr/lib/postgresql/15/bin/pg_autoctl ]; then
    pkgs+=(postgresql-15-auto-failover)
fi

if [ ${#pkgs[@]} -eq 0 ]; then
    echo "install_chromium: chromium, libmagic1, clamd and pg_auto_failover already installed ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
    exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "install_chromium: missing system packages: ${pkgs[*]}" >&2
    echo "Run as root:" >&2
    echo "  sudo sh -c '$cmd'" >&2
    exit 1
fi

echo "install_chromium: installing ${pkgs[*]} (apt-get)..."
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"
echo "install_chromium: done: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing!')"
