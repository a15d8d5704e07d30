#!/usr/bin/env bash
# Fuzzes ingest's image probes (bench/fuzz/FuzzProbe.swift) with libFuzzer and AddressSanitizer for a fixed time,
# starting from the hostile corpus and the DICOM fixtures. Not part of the tests.
#   bench/fuzz.sh [SECONDS]        (default 300; crashes land in bench/.fuzz/crashes/)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
swift build -c release --product medad-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld -Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address
work=bench/.fuzz
mkdir -p "$work/corpus" "$work/crashes"
cp -n Tests/StagesTests/Fixtures/hostile/* Tests/MedImageTests/Fixtures/*.dcm Tests/MedImageTests/Fixtures/*.png \
  Tests/MedImageTests/Fixtures/*.jpg "$work/corpus/" 2>/dev/null || true
rm -f "$work/corpus/expected.csv"
# CharLS (bundled in DCMTK) asserts on some malformed JPEG-LS: ingest isolates that in worker processes, and the
# fuzzer reports it as a crash (SIGABRT) with its input; ASan's own leak check is off (DCMTK's codec registry).
ASAN_OPTIONS=detect_leaks=0 .build-fuzz/release/medad-fuzz "$work/corpus" -artifact_prefix="$work/crashes/" \
  -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1
