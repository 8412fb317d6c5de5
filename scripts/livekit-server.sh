#!/usr/bin/env bash
# Put the pinned livekit-server at .tools/bin/livekit-server (ignored by git), for `make dev` and the tests.
#
# LIVEKIT_SERVER_VERSION below is the one pin: docker-compose.yml's image tag must match it (a test checks).
# - A `livekit-server` on PATH that reports the pinned version is used as it is (symlinked).
# - Otherwise `go install` builds the server's Go module at that release, without cgo. Go's own module and
#   build caches are reused, so a rebuild after `make clean` is quick; an installed binary of the right
#   version is never rebuilt.
# Releases after v1.13.5 carry `replace` directives in go.mod, which `go install pkg@version` refuses: stay on
# v1.13.5 until that changes.
set -euo pipefail

LIVEKIT_SERVER_VERSION=v1.13.5

cd "$(dirname "$0")/.."
tools=.tools/bin
target="$tools/livekit-server"
want="${LIVEKIT_SERVER_VERSION#v}"

version_of() { "$1" --version 2>/dev/null | awk '{print $NF}'; }

if [ "${1:-}" = "--version" ]; then
  echo "$LIVEKIT_SERVER_VERSION"
  exit 0
fi

if [ -x "$target" ] && [ "$(version_of "$target")" = "$want" ]; then
  exit 0
fi
mkdir -p "$tools"

on_path="$(command -v livekit-server || true)"
if [ -n "$on_path" ] && [ "$(readlink -f "$on_path")" != "$(readlink -f "$target" 2>/dev/null)" ] &&
  [ "$(version_of "$on_path")" = "$want" ]; then
  ln -sfn "$on_path" "$target"
  echo "livekit-server: using $on_path ($LIVEKIT_SERVER_VERSION)"
  exit 0
fi

# The official Go tarball installs to /usr/local/go (or $GOROOT); a non-login shell may not have it on PATH.
if ! command -v go >/dev/null 2>&1 && [ -x "${GOROOT:-/usr/local/go}/bin/go" ]; then
  PATH="${GOROOT:-/usr/local/go}/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<MSG
livekit-server: Go is not installed, so livekit-server $LIVEKIT_SERVER_VERSION cannot be built here.
  Either install Go 1.26 or later from https://go.dev/dl (distribution packages are often older: Debian 12's
  golang-go is 1.19, too old) and run \`make livekit-server\` again, or put a livekit-server
  $LIVEKIT_SERVER_VERSION binary on PATH (release archives: github.com/livekit/livekit-server/releases).
  Any running livekit-server or LiveKit Cloud also works: set LIVEKIT_URL (and LIVEKIT_PUBLIC_URL for
  browsers), LIVEKIT_API_KEY and LIVEKIT_API_SECRET to it, and point its webhook at /livekit/webhook.
MSG
  exit 1
fi

echo "livekit-server: building $LIVEKIT_SERVER_VERSION with $(go version | awk '{print $3}') (go install; a few minutes the first time)"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
if ! CGO_ENABLED=0 GOBIN="$build" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_SERVER_VERSION"; then
  echo "livekit-server: go install failed (the output above names the module or package)" >&2
  exit 1
fi
# The module's main package is cmd/server, so Go names the binary `server`.
mv "$build/server" "$target"
echo "livekit-server: installed $(version_of "$target") at $target"
