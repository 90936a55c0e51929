#!/usr/bin/env bash
# Install the browser the wallet's end-to-end tests drive: Debian's chromium at
# /usr/bin/chromium. Idempotent: does nothing when it is already there. The Python side
# (playwright) comes from pyproject's dev extra; never run `playwright install` (it downloads
# a browser build of its own, which this environment cannot fetch).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
test -x /usr/bin/chromium
