#!/usr/bin/env bash
# A Ray cluster inside one SLURM allocation, then `reproduce` on it (docs/cluster.md).
#
# The head on the allocation's first node, one Ray worker on each other node, all bound
# to the nodes' private (cluster-network) addresses with token authentication on; the
# driver runs on the head node. Copy it, set the #SBATCH lines and OUT for your site:
#
#   sbatch docs/slurm_ray.sh
#
# DRY_RUN=1 prints the commands instead of running them (used by the tests with a fake
# SLURM environment). --out must be storage every node shares (here $OUT).
#SBATCH --job-name=fgsm-reproduce
#SBATCH --nodes=3
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=8
#SBATCH --gpus-per-task=1
#SBATCH --time=24:00:00
set -euo pipefail

OUT=${OUT:-$HOME/fgsm-results/mnist}
PORT=${RAY_PORT:-6379}
CPUS=${SLURM_CPUS_PER_TASK:-1}
: "${SLURM_JOB_NODELIST:?run this under sbatch (or set a fake SLURM_* environment)}"
run() { if [[ ${DRY_RUN:-0} == 1 ]]; then echo "+ $*"; else "$@"; fi; }
pause() { [[ ${DRY_RUN:-0} == 1 ]] || sleep "$1"; }  # let Ray start before the next step

mapfile -t NODES < <(${SCONTROL:-scontrol} show hostnames "$SLURM_JOB_NODELIST")
HEAD=${NODES[0]}
# The head's address on the cluster network (not a public one): what the workers dial.
HEAD_IP=$(run srun --nodes=1 --ntasks=1 -w "$HEAD" hostname --ip-address | awk '{print $1}')
[[ ${DRY_RUN:-0} == 1 ]] && HEAD_IP=10.0.0.1

# One token for the whole job: only processes of this job know it.
export RAY_AUTH_MODE=token
RAY_AUTH_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export RAY_AUTH_TOKEN

run srun --nodes=1 --ntasks=1 -w "$HEAD" \
    ray start --head --block --node-ip-address "$HEAD_IP" --port "$PORT" \
    --num-cpus "$CPUS" --include-dashboard false --disable-usage-stats &
pause 20
for node in "${NODES[@]:1}"; do
    run srun --nodes=1 --ntasks=1 -w "$node" \
        ray start --block --address "$HEAD_IP:$PORT" --num-cpus "$CPUS" \
        --disable-usage-stats &
done
pause 20

run fgsm-studio-cli reproduce --out "$OUT" --executor ray --address "$HEAD_IP:$PORT" \
    --keep-checkpoints "$@"
