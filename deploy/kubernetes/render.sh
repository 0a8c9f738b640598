#!/usr/bin/env bash
# Renders the manifests of one sharded run: the scenario's ConfigMap and the Indexed Job (job.yaml), to stdout.
#
#   deploy/kubernetes/render.sh --scenario FILE --shards N --start-at T0 --image IMAGE [--name NAME]
#
# T0 is an RFC 3339 time like 2026-12-04T08:00:00Z (every pod must get the same one); pick it far enough ahead
# for every pod to be scheduled, pull the image and start (a minute is usually plenty).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="loadgen-run"
scenario="" shards="" start_at="" image=""
usage() { echo "usage: $0 --scenario FILE --shards N --start-at T0 --image IMAGE [--name NAME]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) scenario="${2:-}"; shift 2 ;;
    --shards) shards="${2:-}"; shift 2 ;;
    --start-at) start_at="${2:-}"; shift 2 ;;
    --image) image="${2:-}"; shift 2 ;;
    --name) name="${2:-}"; shift 2 ;;
    *) echo "error: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -n "$scenario" ] && [ -n "$shards" ] && [ -n "$start_at" ] && [ -n "$image" ] || usage
[ -f "$scenario" ] || { echo "error: --scenario: no such file '$scenario'" >&2; exit 2; }
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "error: --shards expects a positive integer, got '$shards'" >&2; exit 2; }
[[ "$start_at" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$ ]] || {
  echo "error: --start-at expects an RFC 3339 time like 2026-12-04T08:00:00Z, got '$start_at'" >&2; exit 2; }
[[ "$name" =~ ^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$ ]] || {
  echo "error: --name expects a DNS label (lower-case letters, digits, '-'; at most 42 characters), got '$name'" >&2; exit 2; }
case "$image" in *[[:space:]\|\\]*) echo "error: --image: unexpected characters in '$image'" >&2; exit 2 ;; esac

cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-scenario
  labels:
    app.kubernetes.io/name: loadgen
    app.kubernetes.io/instance: ${name}
data:
  scenario.json: |
YAML
sed 's/^/    /' "$scenario"
echo "---"
sed -e "s|__NAME__|${name}|g" -e "s|__SHARDS__|${shards}|g" -e "s|__START_AT__|${start_at}|g" -e "s|__IMAGE__|${image}|g" \
  "$here/job.yaml"
