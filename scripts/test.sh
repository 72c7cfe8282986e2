#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine: installs what the tests
# need (system packages as root, npm packages), builds, checks types, lint and format,
# then runs every test. .ci/run calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use. Installed only when missing, with one apt-get update.
need=()
command -v make >/dev/null 2>&1 || need+=(make)
command -v gzip >/dev/null 2>&1 || need+=(gzip)
# The C kickstart wrapper (agents/kickstart) is built by `npm run build`.
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v awk >/dev/null 2>&1 || need+=(mawk)
# The distributed runtime's tests start these on loopback (nats-server 2.9.x, dockerd with
# --bridge=none --iptables=false, images imported from busybox-static's rootfs).
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || need+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: missing ${need[*]}; run as root or install them" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

npm ci --no-audit --no-fund --loglevel=error
# Generated protobuf code is committed and never hand-edited: fail on drift from the schemas.
npm run proto:check
npm run build
npm run typecheck
npm run lint
npx vitest run
