#!/usr/bin/env bash
# The "app" route of apisix.yaml through the Admin API (APISIX with etcd).
# Usage: ADMIN_KEY=... bash admin-api.sh [http://127.0.0.1:9180]
set -euo pipefail
admin=${1:-http://127.0.0.1:9180}
key=${ADMIN_KEY:?set ADMIN_KEY to your Admin API key}

curl -fsS -X PUT "$admin/apisix/admin/consumers" -H "X-API-KEY: $key" \
  -d '{"username": "fiona", "plugins": {"key-auth": {"key": "open_sesame"}}}'
curl -fsS -X PUT "$admin/apisix/admin/consumers" -H "X-API-KEY: $key" \
  -d '{"username": "anon", "plugins": {}}'

curl -fsS -X PUT "$admin/apisix/admin/routes/app" -H "X-API-KEY: $key" -d '{
  "uri": "/app/*",
  "plugins": {
    "key-auth": {"anonymous_consumer": "anon"},
    "ext-plugin-post-req": {
      "conf": [{"name": "session",
                "value": "{\"secret\": \"$env://SESSION_SECRET\", \"anonymous_consumer\": \"anon\", \"reject_status\": 401}"}]
    }
  },
  "upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:1980": 1}}
}'
