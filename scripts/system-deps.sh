#!/usr/bin/env bash
# Debian packages, by what they are for:
#   run   nothing: the xmlsec and lxml wheels bring their own libxml2/libxmlsec1
#   test  xmlsec1 (the independent XML-DSig implementation the interop tests check against)
#         and chromium (the browser tests), pg_dump/pg_restore/psql (backup and restore on PostgreSQL),
#         nginx (the TLS front in deploy/nginx), promtool (deploy/prometheus alert rules),
#         systemd-analyze (deploy/systemd units), git (the upgrade test checks out the previous release)
# Each wanted entry is command:package (the Debian package that brings the command).
# Installed only when missing and when we may. Usage: system-deps.sh run|test
set -euo pipefail
purpose="${1:-test}"
case "$purpose" in
  run)  wanted=() ;;
  test) wanted=(xmlsec1:xmlsec1 chromium:chromium pg_dump:postgresql-client psql:postgresql-client
              nginx:nginx-light promtool:prometheus systemd-analyze:systemd git:git) ;;
  *)    echo "usage: $0 run|test" >&2; exit 2 ;;
esac
missing=()
for entry in "${wanted[@]}"; do
  cmd="${entry%%:*}" package="${entry#*:}"
  command -v "$cmd" >/dev/null || [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "please install: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing ${missing[*]} from Debian (needed to $purpose)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
