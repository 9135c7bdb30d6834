#!/usr/bin/env bash
# Runs the whole test suite. The parity tests ask Debian's python3-torchvision (torchvision 0.14.1) to write
# torchvision .pth files; it is installed here when missing and this shell may use apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! /usr/bin/python3 -c "import torchvision" >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing python3-torchvision (reference implementation for the .pth tests)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torchvision >/dev/null
  else
    echo "python3-torchvision is missing: run 'sudo apt-get install python3-torchvision' first." >&2
    exit 1
  fi
fi

dotnet test Microsoft.ML.RetinaNet.slnx -c Release "$@"
