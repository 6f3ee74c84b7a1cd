#!/usr/bin/env bash
# Configures and builds the fuzz targets with clang in their own build directory.
# Usage: build.sh SOURCE_DIR BUILD_DIR [CXX] [JOBS]
set -euo pipefail
src=$1 dir=$2 cxx=${3:-clang++-14} jobs=${4:-2}
cmake -S "$src" -B "$dir" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug \
  -DAMO_FUZZ=ON -DAMO_TESTS=OFF >/dev/null
cmake --build "$dir" -j "$jobs" --target fuzz
