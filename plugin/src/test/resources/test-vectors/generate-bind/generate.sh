#!/bin/bash
# Runs generate.py against a private nginx that loads the real lua-resty-session 4.1.5.
# Usage: LIBS=<dir> CJSON_DIR=<dir> ./generate.sh      (see README.md for what the dirs hold)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LIBS=${LIBS:?folder with the library and its dependencies (README.md)}
CJSON_DIR=${CJSON_DIR:?folder with OpenResty cjson.so}
PREFIX=$(mktemp -d /tmp/bind-vectors.XXXXXX)
LUA_PATH="$LIBS/lua-resty-session/lib/?.lua;$LIBS/lua-resty-openssl/lib/?.lua;$LIBS/lua-ffi-zlib/lib/?.lua"
sed "s#@PREFIX@#$PREFIX#g; s#@LUA_PATH@#$LUA_PATH#; s#@CJSON_DIR@#$CJSON_DIR#; s#@HERE@#$HERE#" \
  "$HERE/nginx.conf.in" > "$PREFIX/nginx.conf"
nginx -p "$PREFIX" -c "$PREFIX/nginx.conf"
trap 'kill -QUIT $(cat "$PREFIX/nginx.pid") 2>/dev/null || true' EXIT
sleep 1
python3 "$HERE/generate.py"
if grep -E "\[(error|crit|alert|emerg)\]" "$PREFIX/error.log"; then echo "nginx logged errors: $PREFIX/error.log"; exit 1; fi
