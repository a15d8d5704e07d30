#!/usr/bin/env bash
# Fresh machine to finished demo: install what is missing, build in release mode, run pipelines/demo.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release
.build/release/medad run pipelines/demo.yaml "$@"
