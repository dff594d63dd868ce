#!/usr/bin/env bash
# Runs the standalone silo: http://127.0.0.1:5080 unless ASPNETCORE_URLS / --urls say otherwise,
# data under ./data (Shards:DataDirectory), in-memory cache and stream. Extra arguments go to the silo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec dotnet run -c Release --project Silo -- "$@"
