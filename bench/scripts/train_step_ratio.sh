#!/usr/bin/env bash
# Training-step time of the sequence transformer in Persona against the same model in PyTorch (the reference
# framework), side by side in one run: same architecture (d 64, 2 layers, 1 head, FF 4×d, dropout 0.5, max length 50),
# batch 128, AdamW lr 2e-3 betas (0.9, 0.98), clipping 5, Amazon Beauty's real batches, 2 threads, once with 8,192
# shared sampled negatives and once with the full softmax over 12,101 items. Prints ms/step for each side and the
# ratio PyTorch / Persona (above 1: Persona is faster).
#
#   bench/scripts/train_step_ratio.sh [DATA_DIR]        (default ../shared/datasets/amazon-beauty)
#   STEPS=40 bench/scripts/train_step_ratio.sh          (40 batches spread over the epoch; default 0 = all 175)
#
# PyTorch runs twice per loss: with its defaults, and with OMP_WAIT_POLICY=PASSIVE, because Debian's build runs its
# GEMMs on OpenBLAS's own threads while libgomp's idle threads spin-wait beside them on the same two cores; the better
# of the two is PyTorch's figure. TORCH_ENVS overrides the list (one VAR=VALUE setting, or "default", per entry).
#
# Needs Debian's python3-torch (apt-get install -y python3-torch; 1.13) and the .NET SDK. A benchmark, not a test:
# .ci/run does not call it and nothing in the test suite needs torch. Run it on a quiet machine (load is printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-../shared/datasets/amazon-beauty}
steps=${STEPS:-0}
python=${PYTHON:-/usr/bin/python3}
read -r -a torch_envs <<< "${TORCH_ENVS:-default OMP_WAIT_POLICY=PASSIVE}"

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
  # One run after the other, never two at once: each has the two cores to itself.
  "$persona" --train-step --data "$data" --negatives "$negatives" --steps "$steps" | tee -a "$log"
  for setting in "${torch_envs[@]}"; do
    if [ "$setting" = default ]; then
      "$python" bench/scripts/torch_step.py --data "$data" --negatives "$negatives" --steps "$steps" --threads 2 --label pytorch | tee -a "$log"
    else
      env "$setting" "$python" bench/scripts/torch_step.py --data "$data" --negatives "$negatives" --steps "$steps" --threads 2 --label "pytorch,$setting" | tee -a "$log"
    fi
  done
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo
awk '/^RESULT/ { key = $3; steps[key] = $4
       if ($2 == "persona") persona[key] = $6
       else { sep = (key in line) ? "; " : " "; line[key] = line[key] sep sprintf("%s %.1f", $2, $6); if (!(key in best) || $6 < best[key]) best[key] = $6 }
       if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
     END {
       printf "| loss | steps | Persona ms/step | PyTorch ms/step (each setting) | PyTorch best / Persona |\n|---|---:|---:|---|---:|\n"
       for (i = 1; i <= n; i++) { k = order[i]
         printf "| %s | %d | %.1f |%s | %.2f |\n", k, steps[k], persona[k], line[k], best[k] / persona[k] }
     }' "$log"
