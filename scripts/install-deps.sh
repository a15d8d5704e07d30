#!/usr/bin/env bash
# Installs the Debian packages medad needs, only those missing: DCMTK (library and tools), libpng, ISA-L (the
# PNG writer's deflate), libxxhash (content and pixel hashes), libjpeg-turbo (JPEG files and JPEG-baseline
# DICOM), OpenJPEG (JPEG 2000), OpenBLAS, LLVM's OpenMP runtime (MedNN's threads); librsvg and the DejaVu fonts (the charts' PNGs). Packages named as
# arguments are added: scripts/test.sh adds headless Chromium (the test that opens report.html in a real browser)
# and slurm-wlm with munge (the one-node Slurm of the Slurm tests).
set -euo pipefail
packages=(libdcmtk-dev dcmtk libpng-dev libisal-dev libxxhash-dev libjpeg62-turbo-dev libopenjp2-7-dev libopenblas-dev libomp-dev pkg-config
  librsvg2-dev fonts-dejavu-core "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
