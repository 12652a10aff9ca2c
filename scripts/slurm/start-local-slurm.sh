#!/usr/bin/env bash
# Start a one-machine Slurm cluster on this host (root only): munged, slurmctld, slurmd.
# Installs slurm-wlm and munge with apt-get when missing. Idempotent: running it again
# while the cluster is up changes nothing and waits for the node to be idle.
#
# Environment:
#   SLURM_WAIT_SECS  how long to wait for the node to become idle (default 60)
set -euo pipefail

log() { printf 'start-local-slurm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts daemons)"

wait_secs=${SLURM_WAIT_SECS:-60}
conf_dir=/etc/slurm
conf=$conf_dir/slurm.conf

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends slurm-wlm munge >&2
fi

# --- munge ---------------------------------------------------------------------------------
if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating /etc/munge/munge.key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile=/etc/munge/munge.key --force
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
fi
chown munge:munge /etc/munge/munge.key 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
chmod 0755 /run/munge

if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "munged already running"
else
    log "starting munged"
    if id munge >/dev/null 2>&1; then
        runuser -u munge -- munged
    else
        munged --force
    fi
    for _ in $(seq 1 20); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.5
    done
    munge -n </dev/null | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"
fi

# --- slurm ---------------------------------------------------------------------------------
# A cluster that already answers (slurmctld up, slurmd registered) is left exactly as it is.
host=$(hostname -s)
if scontrol ping 2>/dev/null | grep -q 'is UP' && sinfo -h -n "$host" -o '%T' 2>/dev/null | grep -q .; then
    log "slurmctld already answers and node $host is known: leaving the running cluster alone"
else
    mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm "$conf_dir"
    # The node line as slurmd itself detects it (CPUs, sockets, cores, threads, memory).
    node_line=$(slurmd -C | head -n 1)
    [[ $node_line == NodeName=* ]] || die "slurmd -C printed no node line: $node_line"

    new_conf=$(mktemp)
    trap 'rm -f "$new_conf"' EXIT
    cat >"$new_conf" <<CONF
ClusterName=calib-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
$node_line State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    if [[ ! -f $conf ]] || ! cmp -s "$new_conf" "$conf"; then
        if [[ -f $conf ]]; then
            log "saving the previous $conf as $conf.bak"
            cp -p "$conf" "$conf.bak"
        fi
        log "writing $conf"
        install -m 0644 "$new_conf" "$conf"
    fi

    running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
    if running /run/slurmctld.pid; then
        log "slurmctld is running (pid $(cat /run/slurmctld.pid)) but does not answer yet"
    else
        log "starting slurmctld (log /var/log/slurm/slurmctld.log)"
        slurmctld
    fi
    if running /run/slurmd.pid; then
        log "slurmd already running (pid $(cat /run/slurmd.pid))"
    else
        log "starting slurmd (log /var/log/slurm/slurmd.log)"
        slurmd
    fi
fi

log "waiting up to ${wait_secs}s for node $host to be idle"
deadline=$((SECONDS + wait_secs))
while :; do
    state=$(sinfo -h -n "$host" -o '%T' 2>/dev/null | head -n 1 || true)
    case $state in
        idle|mixed|allocated) break ;;
        down*|drain*) scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;;
    esac
    if (( SECONDS >= deadline )); then
        die "node $host is '${state:-unknown}', not idle, after ${wait_secs}s (see /var/log/slurm/)"
    fi
    sleep 1
done
log "node $host is $state"
sinfo >&2
