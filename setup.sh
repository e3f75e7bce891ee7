#!/usr/bin/env bash
# Installs what leakshot needs on Debian bookworm, builds it, and (by default)
# scans the bundled test images.
#
#   ./setup.sh            install + build + scan test-images/posted/ (same as "scan")
#   ./setup.sh scan       install + build + scan test-images/posted/
#   ./setup.sh --no-scan  install + build only
#
# Safe to re-run: packages already installed are skipped, cargo rebuilds only
# what changed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

mode="${1:-scan}"
case "$mode" in
  scan | --no-scan) ;;
  *) echo "usage: $0 [scan | --no-scan]" >&2; exit 2 ;;
esac

# Debian's Tesseract is built with OpenMP; with several threads per page it is
# several times slower when pages are OCRed in parallel. Exported so the build
# scripts, the scan and anything started from here inherit it.
export OMP_THREAD_LIMIT=1

# --- System packages -------------------------------------------------------
# libtesseract-dev, libleptonica-dev: linked by the tesseract crate.
# clang, libclang-dev: bindgen (used by the *-sys crates) needs libclang.
# pkg-config: how those crates find the C libraries.
# tesseract-ocr-eng: the English model, loaded at run time.
# fonts-dejavu-core: fonts for examples/make_fixtures.rs (regenerating fixtures).
# tesseract-ocr: the tesseract command line; leakshot does not use it, only
#   benches/throughput.rs does (the baseline leakshot's speed is compared with).
packages=(libtesseract-dev libleptonica-dev tesseract-ocr-eng clang libclang-dev pkg-config fonts-dejavu-core tesseract-ocr)

missing=()
for p in "${packages[@]}"; do
  # "dpkg -s" also succeeds for removed-but-not-purged packages, so check the status line.
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null; then
    sudo="sudo"
  else
    echo "setup.sh: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "System packages already installed."
fi

# --- Build -----------------------------------------------------------------
# rustup puts cargo in ~/.cargo/bin, which a non-login shell may not have on PATH.
if ! command -v cargo >/dev/null && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

# --locked: build exactly the dependency versions that were tested.
if [ -f Cargo.lock ]; then
  cargo build --release --locked
else
  cargo build --release
fi

if [ "$mode" = "--no-scan" ]; then
  exit 0
fi

# --- Scan the bundled test images -------------------------------------------
# Findings are JSON lines on stdout; a copy is kept under target/ (git-ignored).
results=target/scan-results.jsonl
echo "Scanning test-images/posted/ ..."
set +e
target/release/leakshot scan --models models test-images/posted | tee "$results"
rc=${PIPESTATUS[0]}
set -e

# leakshot's exit code: 0 = nothing found, 1 = leak found (the expected demo
# outcome, so also success here), 2 = error.
case "$rc" in
  0) echo "Scan finished: no leaks found. Results: stdout above, copy in $results" ;;
  1) echo "Scan finished: leak(s) found. Results: stdout above, copy in $results" ;;
  *) echo "setup.sh: scan failed (exit code $rc)" >&2; exit "$rc" ;;
esac
