#!/usr/bin/env bash
# Imports the TTA carbon data view, visualizations, saved search and dashboard into
# Kibana through its saved-objects API, for the environment in TTA_ENV.
#   KIBANA_URL=http://127.0.0.1:5601 TTA_ENV=staging deploy/kibana/import.sh
#   deploy/kibana/import.sh --print     # show what would be sent
# Auth: KIBANA_API_KEY, or KIBANA_USERNAME + KIBANA_PASSWORD.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
env_name=${TTA_ENV:-staging}
case "$env_name" in (*[!a-z0-9_-]*|'') echo "TTA_ENV must be lowercase letters, digits, - or _: got '$env_name'" >&2; exit 2;; esac
objects=$(sed -e "s/tta-staging-carbon-\*/tta-${env_name}-carbon-*/g" -e "s/TTA carbon (staging)/TTA carbon (${env_name})/g" "$here/tta-carbon.ndjson")
if [ "${1:-}" = "--print" ]; then
  printf '%s\n' "$objects"
  exit 0
fi
url=${KIBANA_URL:-http://127.0.0.1:5601}
auth=()
if [ -n "${KIBANA_API_KEY:-}" ]; then auth=(-H "Authorization: ApiKey ${KIBANA_API_KEY}")
elif [ -n "${KIBANA_USERNAME:-}" ]; then auth=(-u "${KIBANA_USERNAME}:${KIBANA_PASSWORD:-}")
fi
tmp=$(mktemp --suffix=.ndjson)
trap 'rm -f "$tmp"' EXIT
printf '%s\n' "$objects" > "$tmp"
response=$(curl -sS --fail-with-body -X POST "${url%/}/api/saved_objects/_import?overwrite=true" \
  -H 'kbn-xsrf: tta-carbon' "${auth[@]}" --form "file=@${tmp}")
echo "$response"
case "$response" in (*'"success":true'*) exit 0;; (*) echo "import reported errors (see above)" >&2; exit 1;; esac
