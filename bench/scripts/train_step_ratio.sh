#!/usr/bin/env bash
# Training-step time of the sequence transformer in Persona against the same model in PyTorch (the reference
# framework), side by side in one run: same architecture (d 64, 2 layers, 1 head, FF 4×d, dropout 0.5, max length 50),
# batch 128, AdamW lr 2e-3 betas (0.9, 0.98), clipping 5, Amazon Beauty's real batches (one epoch each), 2 threads,
# once with 8,192 shared sampled negatives and once with the full softmax over 12,101 items. Prints ms/step for each
# side and the ratio PyTorch / Persona (above 1: Persona is faster).
#
#   bench/scripts/train_step_ratio.sh [DATA_DIR]        (default ../shared/datasets/amazon-beauty)
#   STEPS=40 bench/scripts/train_step_ratio.sh          (time 40 batches spread over the epoch instead of all 175)
#
# Needs Debian's python3-torch (apt-get install -y python3-torch; 1.13) and the .NET SDK. A benchmark, not a test:
# .ci/run does not call it and nothing in the test suite needs torch. Run it on a quiet machine (load is printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-../shared/datasets/amazon-beauty}
steps=${STEPS:-0}
python=${PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "PyTorch is not importable by $python; install Debian's python3-torch (apt-get install -y python3-torch) or set PYTHON." >&2
  exit 2
fi
dotnet build -c Release bench/Persona.Benchmarks -v q -nologo >/dev/null
persona=bench/Persona.Benchmarks/bin/Release/net10.0/Persona.Benchmarks

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for negatives in 8192 0; do
  # One framework after the other, never both at once: each has the two cores to itself.
  "$persona" --train-step --data "$data" --negatives "$negatives" --steps "$steps" | tee -a "$log"
  OMP_NUM_THREADS=2 "$python" bench/scripts/torch_step.py --data "$data" --negatives "$negatives" --steps "$steps" --threads 2 | tee -a "$log"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
awk '/^RESULT/ { ms[$2 " " $3] = $6; steps[$3] = $4; if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 } }
     END {
       printf "| loss | steps | Persona ms/step | PyTorch ms/step | PyTorch / Persona |\n|---|---:|---:|---:|---:|\n"
       for (i = 1; i <= n; i++) { l = order[i]; p = ms["persona " l]; t = ms["pytorch " l]
         printf "| %s | %d | %.1f | %.1f | %.2f |\n", l, steps[l], p, t, t / p }
     }' "$log"
