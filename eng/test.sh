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

log=$(mktemp)
set +e
dotnet test Microsoft.ML.RetinaNet.slnx -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain summary line over all test assemblies: "N passed, N failed, N skipped".
awk '/(Passed|Failed)! +- +Failed: /{ gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { if (p + f > 0) printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
