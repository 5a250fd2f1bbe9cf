#!/usr/bin/env bash
#
# scripts/setup.sh: the first command of the README. Installs what is
# needed (Debian 12), builds, and runs the demo: a local directory as the
# remote, mounted as a files-on-demand drive, a file going from placeholder
# to partial to hydrated, and a new file reaching the remote.
#
#   scripts/setup.sh [--no-demo]
#
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
if [ "${1:-}" = --no-demo ]; then
	echo "built: build/clonedrive"
	exit 0
fi
exec bash scripts/demo.sh build/clonedrive
