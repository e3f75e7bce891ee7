#!/usr/bin/env bash
# The project's test command: install/build via setup.sh, then run all tests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

# Debian's Tesseract uses OpenMP; one thread per OCR call keeps parallel tests fast.
export OMP_THREAD_LIMIT=1

./setup.sh --no-scan

# rustup puts cargo in ~/.cargo/bin, which a non-login shell may not have on PATH.
if ! command -v cargo >/dev/null && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

cargo test --release --locked
