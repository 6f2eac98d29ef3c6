#!/usr/bin/env bash
# Bring up a throw-away single-node SLURM cluster on 127.0.0.1 for the integration test:
# munged, mariadbd, slurmdbd, slurmctld and slurmd from Debian's packages, started by hand
# (no systemd needed), with every config, spool, socket, log and database under one state
# directory, so nothing in /etc or /var is touched except by apt.
#
# Accounting (slurmdbd + MariaDB) is not optional: Snakemake's SLURM executor asks `sacct`
# for job states, and without slurmdbd `sacct` fails and Snakemake waits for ever.
#
# Each daemon runs in the foreground of its own session (setsid), so the PID written to
# $STATE/pids is the daemon itself (with its start time, against PID reuse);
# cluster_down.sh stops exactly those PIDs and nothing else.
#
# Usage:  tests/slurm/cluster_up.sh && source "$STATE/env.sh" && sinfo
# Env:    SLURM_LOCAL_STATE      state directory (default /tmp/memorization-slurm)
#         SLURM_UP_TIMEOUT       bound on the whole bring-up in seconds (default 900)
#         SLURM_LOCAL_PORT_BASE  slurmctld port; +1 slurmd, +2 slurmdbd, +3 mariadb (default 6817)
# Exit:   0 cluster up (or already up: the script is idempotent),
#         77 cannot run on this machine (reason on stderr, starting with "SKIP:"),
#         124 ran out of time, anything else: failure (daemons started so far are stopped).
set -euo pipefail

STATE=${SLURM_LOCAL_STATE:-/tmp/memorization-slurm}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH="/usr/local/sbin:/usr/sbin:/sbin:$PATH"

if [ -z "${_CLUSTER_UP_BOUNDED:-}" ]; then
  # -k: the failure trap below needs time to stop what was started before the hard kill.
  _CLUSTER_UP_BOUNDED=1 exec timeout -k 60 "${SLURM_UP_TIMEOUT:-900}" bash "$0" "$@"
fi

skip() {
  echo "SKIP: $*" >&2
  exit 77
}
die() {
  echo "ERROR: $*" >&2
  exit 1
}
t0=$(date +%s.%N)
stamp() { awk -v a="$(date +%s.%N)" -v b="$t0" -v m="$*" 'BEGIN{printf "[%6.1fs] %s\n", a-b, m}'; }

[ "$(uname -s)" = Linux ] || skip "needs Linux"
[ "$(id -u)" -eq 0 ] || skip "needs root: it installs Debian packages and starts SLURM daemons"
case "$STATE" in /?*/?*) ;; *) die "SLURM_LOCAL_STATE must be an absolute path at least two levels deep: '$STATE'" ;; esac
MARKER="$STATE/.memorization-slurm-state"
if [ -d "$STATE" ] && [ -n "$(ls -A "$STATE")" ] && [ ! -e "$MARKER" ]; then
  die "$STATE exists, is not empty and was not made by this script; refusing to use it"
fi

PORT_BASE=${SLURM_LOCAL_PORT_BASE:-6817}
CTLD_PORT=$PORT_BASE
SLURMD_PORT=$((PORT_BASE + 1))
DBD_PORT=$((PORT_BASE + 2))
DB_PORT=$((PORT_BASE + 3))
CLUSTER=localcluster
PARTITION=debug
export SLURM_CONF="$STATE/etc/slurm.conf"
MUNGE_SOCKET="$STATE/munge/munge.socket"
DB_SOCKET="$STATE/mysql/mysqld.sock"

start_time() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
pid_is_ours() { # pid_is_ours <pid> <start time>: the process is still the one we started
  [ -n "$1" ] && [ "$(start_time "$1")" = "$2" ]
}
daemon_alive() { # daemon_alive <name>
  local name pid start
  while read -r name pid start; do
    [ "$name" = "$1" ] && pid_is_ours "$pid" "$start" && return 0
  done <"$STATE/pids"
  return 1
}
all_daemons_alive() {
  local name pid start n=0
  [ -s "$STATE/pids" ] || return 1
  while read -r name pid start; do
    pid_is_ours "$pid" "$start" || return 1
    n=$((n + 1))
  done <"$STATE/pids"
  [ "$n" -eq 5 ]
}
node_idle() { [ -n "$(sinfo -h -t idle -o %n 2>/dev/null)" ]; }

# ---- already up? ------------------------------------------------------------------------
if [ -s "$STATE/pids" ]; then
  if all_daemons_alive && scontrol ping >/dev/null 2>&1 && node_idle; then
    echo "cluster already up (state $STATE); nothing to do"
    exit 0
  fi
  echo "found a partial cluster in $STATE; stopping what is left of it first"
  SLURM_LOCAL_STATE="$STATE" "$HERE/cluster_down.sh"
fi

# The SLURM executor's job step clears SLURM_CONF before it calls srun inside each job, so
# srun reads the default path; that path is pointed at this cluster's config (a symlink that
# cluster_down.sh removes), and a config someone else put there is never replaced.
SYSTEM_CONF=/etc/slurm/slurm.conf
if [ -e "$SYSTEM_CONF" ] || [ -L "$SYSTEM_CONF" ]; then
  [ "$(readlink "$SYSTEM_CONF")" = "$SLURM_CONF" ] || skip "$SYSTEM_CONF already exists (a real SLURM setup?); not replacing it"
fi

# ---- ports -----------------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$CTLD_PORT" "$SLURMD_PORT" "$DBD_PORT" "$DB_PORT"; do
  port_busy "$port" && skip "port $port on 127.0.0.1 is already in use (another SLURM or database?); set SLURM_LOCAL_PORT_BASE"
done

# ---- packages --------------------------------------------------------------------------
PACKAGES="munge slurmctld slurmd slurm-client slurmdbd mariadb-server"
BINARIES="munged munge unmunge mariadbd mariadb-install-db mariadb mariadb-admin slurmdbd slurmctld slurmd sbatch srun sacct sacctmgr scontrol sinfo squeue scancel setpriv"
missing_binaries() { for b in $BINARIES; do command -v "$b" >/dev/null || echo "$b"; done; }
if [ -n "$(missing_binaries)" ]; then
  command -v apt-get >/dev/null || skip "SLURM is not installed and there is no apt-get to install it (needs Debian or Ubuntu); missing: $(missing_binaries | xargs)"
  export DEBIAN_FRONTEND=noninteractive
  # Where systemd runs, dpkg would start the stock services (mariadb on 3306, munge ...);
  # a policy-rc.d that denies starts keeps the machine as it was. Removed again below.
  POLICY=/usr/sbin/policy-rc.d
  OUR_POLICY=0
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    OUR_POLICY=1
  fi
  apt_ok=1
  timeout 300 apt-get update -qq || apt_ok=0
  [ "$apt_ok" = 1 ] && { timeout 900 apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null || apt_ok=0; }
  [ "$OUR_POLICY" = 1 ] && rm -f "$POLICY"
  [ "$apt_ok" = 1 ] || skip "apt-get could not install $PACKAGES (no package repository reachable?)"
  [ -z "$(missing_binaries)" ] || die "installed $PACKAGES but still missing: $(missing_binaries | xargs)"
  stamp "packages installed: $PACKAGES"
else
  stamp "packages already installed"
fi

# ---- fresh state directory ---------------------------------------------------------------
if [ -e "$MARKER" ]; then rm -rf "${STATE:?}"/{etc,munge,mysql,spool,log}; fi
install -d -m 755 "$STATE" "$STATE/etc" "$STATE/log" "$STATE/spool/slurmctld" "$STATE/spool/slurmd"
touch "$MARKER"
: >"$STATE/pids"
dpkg-query -W -f '${Package} ${Version}\n' $PACKAGES >"$STATE/versions.txt" 2>/dev/null || true

UP_OK=0
on_exit() {
  local rc=$?
  if [ "$UP_OK" != 1 ] && [ -s "$STATE/pids" ]; then
    echo "bring-up failed (rc $rc); logs in $STATE/log; stopping the daemons started so far" >&2
    for f in "$STATE"/log/*; do
      echo "--- tail of $f" >&2
      tail -n 15 "$f" >&2
    done
    SLURM_LOCAL_STATE="$STATE" "$HERE/cluster_down.sh" >&2 || true
  fi
}
trap on_exit EXIT
trap 'exit 143' TERM INT

start_daemon() { # start_daemon <name> <command...>: run in its own session, record pid + start time
  local name=$1
  shift
  setsid "$@" >>"$STATE/log/$name.out" 2>&1 </dev/null &
  local pid=$! start=""
  for _ in $(seq 1 50); do
    start=$(start_time "$pid")
    [ -n "$start" ] && break
    sleep 0.02
  done
  [ -n "$start" ] || die "$name exited at once; see $STATE/log/$name.out"
  echo "$name $pid $start" >>"$STATE/pids"
}
wait_for() { # wait_for <daemon> <seconds> <command...>: poll until the command succeeds
  local name=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    daemon_alive "$name" || die "$name died during start-up; see $STATE/log/$name.*"
    [ "$SECONDS" -lt "$deadline" ] || die "gave up after $secs s waiting for $name ($*)"
    sleep 0.2
  done
}

# ---- munge (own key and socket, so a system munged, if any, is left alone) --------------
install -d -o munge -g munge -m 755 "$STATE/munge"
dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$STATE/munge/munge.key"
chmod 400 "$STATE/munge/munge.key"
start_daemon munged setpriv --reuid=munge --regid=munge --clear-groups \
  munged --foreground --socket="$MUNGE_SOCKET" --key-file="$STATE/munge/munge.key" \
  --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed"
wait_for munged 20 sh -c "munge -S '$MUNGE_SOCKET' -n | unmunge -S '$MUNGE_SOCKET'"
stamp "munged up"

# ---- mariadb (own data directory, socket and port) ------------------------------------------
install -d -o mysql -g mysql -m 755 "$STATE/mysql"
timeout 120 mariadb-install-db --no-defaults --user=mysql --datadir="$STATE/mysql/data" \
  --auth-root-authentication-method=socket --skip-test-db >"$STATE/log/mariadb-install-db.out" 2>&1 ||
  die "mariadb-install-db failed; see $STATE/log/mariadb-install-db.out"
start_daemon mariadbd mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql/data" \
  --socket="$DB_SOCKET" --pid-file="$STATE/mysql/mysqld.pid" --bind-address=127.0.0.1 --port="$DB_PORT" \
  --log-error="$STATE/log/mariadbd.log" --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900
wait_for mariadbd 60 mariadb-admin --no-defaults --socket="$DB_SOCKET" -u root ping
DB_PASS=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
mariadb --no-defaults --socket="$DB_SOCKET" -u root -e "
  CREATE DATABASE slurm_acct_db;
  CREATE USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
  CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
stamp "mariadbd up"

# ---- configuration -------------------------------------------------------------------------
NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(($(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 * 9 / 10))
cat >"$STATE/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
DebugLevel=info
LogFile=$STATE/log/slurmdbd.log
PidFile=$STATE/spool/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
chmod 600 "$STATE/etc/slurmdbd.conf"
# No cgroups (proctrack/linuxproc, task/affinity): works in containers and VMs without a
# cgroup setup. DefMemPerCPU: without it a job that asks for no memory takes the whole node.
cat >"$SLURM_CONF" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
StateSaveLocation=$STATE/spool/slurmctld
SlurmdSpoolDir=$STATE/spool/slurmd
SlurmctldPidFile=$STATE/spool/slurmctld.pid
SlurmdPidFile=$STATE/spool/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# The munge socket for talking to slurmdbd is given here, not by AuthInfo.
AccountingStoragePass=$MUNGE_SOCKET
# Keep the job comment (the SLURM executor puts the rule name there) for sacct.
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
MinJobAge=300
InactiveLimit=0
KillWait=10
Waittime=0
SlurmctldTimeout=120
SlurmdTimeout=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

install -d -m 755 "$(dirname "$SYSTEM_CONF")"
ln -sfn "$SLURM_CONF" "$SYSTEM_CONF"

# ---- slurmdbd, slurmctld, slurmd ----------------------------------------------------------
start_daemon slurmdbd slurmdbd -D
wait_for slurmdbd 60 sacctmgr -n list cluster
stamp "slurmdbd up"
start_daemon slurmctld slurmctld -D
wait_for slurmctld 60 scontrol ping
stamp "slurmctld up"
start_daemon slurmd slurmd -D -N "$NODE"
wait_for slurmd 60 node_idle
stamp "slurmd up, node $NODE idle"
# slurmctld registers the cluster (and root's default account) in slurmdbd by itself.
wait_for slurmctld 60 sh -c "sacctmgr -n -P list association cluster=$CLUSTER user=root format=account | grep -qx root"
stamp "cluster $CLUSTER registered in slurmdbd"

cat >"$STATE/env.sh" <<EOF
# source this to talk to the local test cluster
export SLURM_CONF=$SLURM_CONF
export PATH="/usr/sbin:/sbin:\$PATH"
EOF
UP_OK=1
sinfo
echo "cluster up: source $STATE/env.sh; partition $PARTITION, account root; stop with tests/slurm/cluster_down.sh"
