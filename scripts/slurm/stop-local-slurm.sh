#!/usr/bin/env bash
# Stop the one-machine Slurm started by start-local-slurm.sh (slurmd, slurmctld, munged).
# Only the pids in the daemons' pid files are signalled. Idempotent.
# STOP_MUNGE=0 leaves munged running.
set -euo pipefail

log() { printf 'stop-local-slurm: %s\n' "$*" >&2; }

stop_pidfile() {
    local name=$1 pidfile=$2 pid
    if [[ -f $pidfile ]] && pid=$(cat "$pidfile") && kill -0 "$pid" 2>/dev/null; then
        log "stopping $name (pid $pid)"
        kill "$pid"
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
        log "$name did not exit in 10s; sending SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
    else
        log "$name is not running"
    fi
}

stop_pidfile slurmd /run/slurmd.pid
stop_pidfile slurmctld /run/slurmctld.pid
if [[ ${STOP_MUNGE:-1} == 1 ]]; then
    stop_pidfile munged /run/munge/munged.pid
fi
