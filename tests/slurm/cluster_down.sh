#!/usr/bin/env bash
# Stop exactly the daemons tests/slurm/cluster_up.sh started: the PIDs in $STATE/pids,
# newest first, each only if it is still the process that was started (same start time).
# Jobs still on the cluster are cancelled first, so slurmd leaves no job processes behind.
#
# Usage: tests/slurm/cluster_down.sh [--purge]   (--purge also deletes the state directory)
# Env:   SLURM_LOCAL_STATE (default /tmp/memorization-slurm)
set -u
STATE=${SLURM_LOCAL_STATE:-/tmp/memorization-slurm}
export SLURM_CONF="$STATE/etc/slurm.conf"
export PATH="/usr/local/sbin:/usr/sbin:/sbin:$PATH"
PIDS="$STATE/pids"

start_time() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
is_ours() { [ -n "$1" ] && [ "$(start_time "$1")" = "$2" ]; }

if [ -s "$PIDS" ]; then
  if grep -q '^slurmctld ' "$PIDS" && command -v scancel >/dev/null && timeout 10 scontrol ping >/dev/null 2>&1; then
    timeout 20 scancel --quiet --user=root 2>/dev/null || true
    for _ in $(seq 1 60); do
      [ -z "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  tac "$PIDS" | while read -r name pid start; do
    if ! is_ours "$pid" "$start"; then
      echo "$name: pid $pid no longer running"
      continue
    fi
    kill -TERM "$pid"
    for _ in $(seq 1 150); do
      is_ours "$pid" "$start" || break
      sleep 0.2
    done
    if is_ours "$pid" "$start"; then
      echo "$name ($pid) ignored SIGTERM for 30 s; SIGKILL"
      kill -KILL "$pid"
    fi
    echo "$name ($pid) stopped"
  done
  rm -f "$PIDS"
else
  echo "nothing to stop: no $PIDS"
fi

if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$SLURM_CONF" ]; then
  rm -f /etc/slurm/slurm.conf
  echo "removed the link /etc/slurm/slurm.conf -> $SLURM_CONF"
fi

if [ "${1:-}" = --purge ] && [ -e "$STATE/.memorization-slurm-state" ]; then
  rm -rf "${STATE:?}"
  echo "removed $STATE"
fi
