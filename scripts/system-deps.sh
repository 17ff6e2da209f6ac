#!/usr/bin/env bash
# Debian packages the tests need: xmlsec1 (independent XML-DSig implementation)
# and chromium (browser tests). Installed only when missing and when we may.
set -euo pipefail
missing=()
command -v xmlsec1 >/dev/null || missing+=(xmlsec1)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "please install: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing ${missing[*]} from Debian"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
