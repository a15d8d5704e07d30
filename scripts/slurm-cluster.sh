#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm tests (and for trying `medad slurm submit` by hand):
#   scripts/slurm-cluster.sh start DIR   writes DIR/slurm.conf, starts munged, slurmctld and slurmd; prints the
#                                         environment to use it (SLURM_CONF=DIR/slurm.conf)
#   scripts/slurm-cluster.sh stop DIR    stops them
# No systemd or cgroups needed: Debian's slurm-wlm and munge, a munge key, munged as the munge user, this host as
# the controller and the one node (its cores), state and spool under DIR, daemons in the background.
set -euo pipefail
action=${1:?start or stop}
dir=$(realpath -m "${2:?a folder for the state of the cluster}")
host=$(hostname -s)

stop() {
  for name in slurmd slurmctld munged; do
    if [ -f "$dir/$name.pid" ]; then
      kill "$(cat "$dir/$name.pid")" 2>/dev/null || true
      rm -f "$dir/$name.pid"
    fi
  done
}

# Starts a daemon with no descriptor of ours but its standard streams: a caller that watches for this script's end
# through a descriptor its child inherits (Foundation's Process does) would otherwise wait for the daemons.
# Call it in a subshell of its own (`&` or parentheses): it replaces the shell that runs it.
detached() {
  for fd in /proc/$BASHPID/fd/*; do
    n=${fd##*/}
    if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null || true; fi
  done
  exec "$@"
}

if [ "$action" = stop ]; then stop; exit 0; fi
[ "$action" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 1; }

command -v slurmctld >/dev/null || { echo "slurm-wlm is not installed (scripts/install-deps.sh slurm-wlm munge)" >&2; exit 1; }
mkdir -p "$dir"/{state,spool,munge,logs}
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))

# munge: its own key and socket under DIR, run as the munge user (munged refuses root-owned keys it cannot trust
# otherwise). The socket path is passed to Slurm through slurm.conf's AuthInfo.
key="$dir/munge/munge.key"
[ -f "$key" ] || dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
chown -R munge:munge "$dir/munge"
chmod 700 "$dir/munge"
chmod 400 "$key"
socket="$dir/munge/munge.socket"
if ! [ -S "$socket" ] || ! MUNGE_SOCKET="$socket" munge -n -S "$socket" >/dev/null 2>&1; then
  (detached runuser -u munge -- munged --key-file="$key" --socket="$socket" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" --force </dev/null >/dev/null 2>&1)
  cp "$dir/munge/munged.pid" "$dir/munged.pid"
fi

cat > "$dir/slurm.conf" <<CONF
ClusterName=medad-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/logs/slurmctld.log
SlurmdLogFile=$dir/logs/slurmd.log
SlurmctldPort=${SLURMCTLD_PORT:-16817}
SlurmdPort=${SLURMD_PORT:-16818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

export SLURM_CONF="$dir/slurm.conf"
# Their standard streams go to files, never to the caller's.
detached slurmctld -D -f "$SLURM_CONF" </dev/null > "$dir/logs/slurmctld.out" 2>&1 &
detached slurmd -D -f "$SLURM_CONF" </dev/null > "$dir/logs/slurmd.out" 2>&1 &
# Ready when the node answers idle.
for _ in $(seq 1 60); do
  if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.5
done
echo "the one-node cluster did not come up; see $dir/logs" >&2
stop
exit 1
