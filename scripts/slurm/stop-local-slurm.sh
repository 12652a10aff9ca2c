#!/usr/bin/env bash
# Stops the daemons start-local-slurm.sh started.
set -euo pipefail
pkill -x slurmd || true
pkill -x slurmctld || true
pkill -x munged || true
