#!/usr/bin/env bash
# Install what is missing, then build and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh chromium-headless-shell slurm-wlm munge
# The committed .swift-format: layout (4 spaces, 140 columns) and the rules the code keeps; a diff fails CI.
swift format lint --strict --recursive Sources Tests bench Package.swift
swift build --build-tests
swift test --skip-build
