#!/usr/bin/env bash
# A throw-away single-node SLURM cluster with accounting, for testing the workflow's SLURM profile
# (tests/test_slurm.py) on one machine, as root, without systemd:
#
#   scripts/slurm_cluster.sh install   # apt-get install slurm-wlm munge slurmdbd mariadb-server (Debian/Ubuntu)
#   scripts/slurm_cluster.sh start     # start it (again: a no-op while it is up); prints `export SLURM_CONF=...`
#   scripts/slurm_cluster.sh status    # sinfo + sacct
#   scripts/slurm_cluster.sh stop      # kill exactly the daemons `start` started (by PID), remove the state folder
#
#   eval "$(scripts/slurm_cluster.sh start)" && sbatch --wrap hostname && sacct
#
# Everything lives in one state folder, $SEQZOO_SLURM_DIR (default /tmp/seqzoo-slurm): slurm.conf and
# slurmdbd.conf (clients find them through SLURM_CONF; slurmdbd reads the slurmdbd.conf next to it),
# a munge key and socket, a MariaDB data folder, spool folders, logs, and `pids` (name pid per line).
# One thing outside it: a symlink /etc/slurm/slurm.conf -> STATE/etc/slurm.conf (removed by `stop`;
# `start` refuses to run when that path is taken). SLURM_CONF would be enough for sbatch, sacct and the
# daemons, but snakemake-executor-plugin-slurm-jobstep (0.6.1) removes every SLURM_* variable, SLURM_CONF
# included, from the environment of the `srun` it runs inside each job, so srun only finds the
# configuration at the compiled-in default path. The Debian packages' postinst creates
# /etc/munge/munge.key; it is not used. Daemons listen on 127.0.0.1 only, on their own ports (slurmctld 16817, slurmd 16818,
# slurmdbd 16819, MariaDB 13306; $SEQZOO_SLURM_PORT_BASE moves the SLURM ones), so they do not meet
# a system installation. All of them run as root (SlurmUser=root): it is a test cluster.
#
# The node: NodeName=$(hostname -s), NodeAddr=127.0.0.1, CPUs=$(nproc), RealMemory = 90% of
# MemTotal; one partition `debug` (the default); accounting through slurmdbd + MariaDB with the
# account `ci` and the user running this script (and $SUDO_USER) under it. Process tracking without
# cgroups (proctrack/linuxproc, task/none), as in containers and gVisor sandboxes.
set -euo pipefail

STATE=${SEQZOO_SLURM_DIR:-/tmp/seqzoo-slurm}
BASE=${SEQZOO_SLURM_PORT_BASE:-16817}
CTLD_PORT=$BASE
SLURMD_PORT=$((BASE + 1))
DBD_PORT=$((BASE + 2))
DB_PORT=${SEQZOO_SLURM_DB_PORT:-13306}
CLUSTER=seqzoo-ci
ACCOUNT=ci
PACKAGES=(slurm-wlm munge slurmdbd mariadb-server)
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)   # start order; stop is the reverse

log() { echo "slurm_cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it starts munged, MariaDB and the SLURM daemons)"; }

cmd_install() {
    need_root
    local missing=0 b
    for b in slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db sbatch sacct sacctmgr; do
        command -v "$b" >/dev/null || missing=1
    done
    if [ $missing = 0 ]; then log "packages already installed"; return 0; fi
    command -v apt-get >/dev/null || die "apt-get not found: install ${PACKAGES[*]} by hand"
    log "apt-get install ${PACKAGES[*]}"
    # the lock timeout: another apt on the machine waits its turn instead of failing this one
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${PACKAGES[@]}" >&2
}

# --- PIDs ------------------------------------------------------------------------------------
pid_of() { [ -f "$STATE/pids" ] && awk -v d="$1" '$1 == d {print $2}' "$STATE/pids" || true; }

alive() {  # alive NAME PID: the PID runs and is that daemon (not a recycled PID)
    local name=$1 pid=$2
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}

all_alive() {
    local d
    [ -f "$STATE/pids" ] || return 1
    for d in "${DAEMONS[@]}"; do alive "$d" "$(pid_of "$d")" || return 1; done
}

spawn() {  # spawn NAME CMD...: start a daemon in the foreground of its own session, record its PID
    local name=$1; shift
    # setsid: a Ctrl-C or a timeout aimed at the caller's process group leaves the cluster alone
    # (`stop` ends it); without job control the background child is no group leader, so setsid
    # execs in place and $! is the daemon's own PID.
    setsid "$@" </dev/null >>"$STATE/log/$name.out" 2>&1 &
    local pid=$!
    echo "$name $pid" >>"$STATE/pids"
    sleep 0.2
    alive "$name" "$pid" || { tail -n 20 "$STATE/log/$name.out" "$STATE/log/$name.log" 2>/dev/null >&2 || true;
                              die "$name did not start (logs in $STATE/log)"; }
}

wait_for() {  # wait_for SECONDS WHAT CMD...
    local secs=$1 what=$2; shift 2
    local end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || die "timed out after ${secs}s waiting for $what (logs in $STATE/log)"
        sleep 0.5
    done
}

# --- start -----------------------------------------------------------------------------------
write_configs() {
    local host cpus mem_mb
    host=$(hostname -s)
    cpus=$(nproc)
    mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)  # slurmd drains a node that has less
    cat >"$STATE/etc/slurm.conf" <<EOF
# written by scripts/slurm_cluster.sh: a single-node test cluster
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# sacct -o Comment then shows the executor's rule_<rule>_wildcards_<...> job comments
AccountingStoreFlags=job_comment
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
# for auth/munge this is the munge socket of connections to slurmdbd (AuthInfo is not used for them)
AccountingStoragePass=$STATE/munge/munge.socket
AccountingStorageEnforce=associations
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=300
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$STATE/etc/slurmdbd.conf" <<EOF
# written by scripts/slurm_cluster.sh
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$1
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$STATE/etc/slurmdbd.conf"  # slurmdbd refuses a readable one (it holds the password)
}

DEFAULT_CONF=/etc/slurm/slurm.conf  # Debian's compiled-in default (see the header)

link_default_conf() {
    if [ -L "$DEFAULT_CONF" ] && [ "$(readlink "$DEFAULT_CONF")" = "$STATE/etc/slurm.conf" ]; then return 0; fi
    if [ -e "$DEFAULT_CONF" ] || [ -L "$DEFAULT_CONF" ]; then
        die "$DEFAULT_CONF exists (a SLURM installation of this machine?): this script links its own slurm.conf there " \
            "for the srun inside jobs and will not replace it; stop that cluster and move the file away first"
    fi
    mkdir -p "$(dirname "$DEFAULT_CONF")"
    ln -s "$STATE/etc/slurm.conf" "$DEFAULT_CONF"
}

unlink_default_conf() {
    if [ -L "$DEFAULT_CONF" ] && [ "$(readlink "$DEFAULT_CONF")" = "$STATE/etc/slurm.conf" ]; then rm -f "$DEFAULT_CONF"; fi
}

node_idle() { sinfo -h -N -o %t | grep -qx idle; }

cmd_start() {
    need_root
    export SLURM_CONF=$STATE/etc/slurm.conf
    if all_alive && sinfo -h >/dev/null 2>&1; then
        log "already running (state in $STATE): not started again"
        echo "export SLURM_CONF=$SLURM_CONF"
        return 0
    fi
    [ -e "$STATE" ] && { log "found a stopped or partial cluster in $STATE: stopping it first"; cmd_stop; }
    for b in slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db sacctmgr; do
        command -v "$b" >/dev/null || die "$b not found: run '$0 install' first"
    done
    local t0=$SECONDS pass
    mkdir -p -m 755 "$STATE" "$STATE/etc" "$STATE/munge" "$STATE/spool/ctld" "$STATE/spool/d" "$STATE/log" "$STATE/run"
    mkdir -p -m 700 "$STATE/munge-key" "$STATE/db"
    : >"$STATE/pids"
    pass=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    write_configs "$pass"
    link_default_conf

    # munge: its own key; the socket folder must be world-executable, the key folder private
    dd if=/dev/urandom of="$STATE/munge-key/munge.key" bs=1024 count=1 status=none
    chmod 600 "$STATE/munge-key/munge.key"
    spawn munged munged -F --num-threads=10 --key-file="$STATE/munge-key/munge.key" \
        --socket="$STATE/munge/munge.socket" --pid-file="$STATE/run/munged.pid" \
        --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge-key/munged.seed"
    wait_for 20 munged munge -S "$STATE/munge/munge.socket" -n

    # MariaDB: a private data folder, TCP on 127.0.0.1 (slurmdbd) and a socket (set-up as root)
    mariadb-install-db --no-defaults --user=root --datadir="$STATE/db/data" --skip-test-db \
        --auth-root-authentication-method=socket >"$STATE/log/mariadb-install-db.log" 2>&1 \
        || { tail -n 20 "$STATE/log/mariadb-install-db.log" >&2; die "mariadb-install-db failed"; }
    spawn mariadbd mariadbd --no-defaults --user=root --datadir="$STATE/db/data" --socket="$STATE/db/mysqld.sock" \
        --port="$DB_PORT" --bind-address=127.0.0.1 --pid-file="$STATE/run/mariadbd.pid" \
        --log-error="$STATE/log/mariadbd.log" --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900
    wait_for 60 MariaDB mariadb-admin --no-defaults -S "$STATE/db/mysqld.sock" ping
    mariadb --no-defaults -S "$STATE/db/mysqld.sock" -u root -e "
        CREATE DATABASE slurm_acct_db;
        CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
        CREATE USER 'slurm'@'localhost' IDENTIFIED BY '$pass'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"

    spawn slurmdbd slurmdbd -D
    wait_for 60 slurmdbd sacctmgr -n list cluster
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
    sacctmgr -i add account "$ACCOUNT" Description="seqzoo CI" Organization=seqzoo >/dev/null
    local u
    for u in $(id -un) ${SUDO_USER:-}; do
        sacctmgr -i add user "$u" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null
    done

    spawn slurmctld slurmctld -D
    wait_for 60 slurmctld scontrol ping
    spawn slurmd slurmd -D
    wait_for 90 "node $(hostname -s) idle" node_idle
    wait_for 30 "sacct" sacct -n -X
    log "up in $((SECONDS - t0))s: $(sinfo -h -N -o '%N %P %c CPUs %m MB %t'), account $ACCOUNT (state in $STATE)"
    echo "export SLURM_CONF=$SLURM_CONF"
}

# --- stop ------------------------------------------------------------------------------------
cmd_stop() {
    local i d pid
    if [ -f "$STATE/pids" ]; then
        # jobs first, so that no job step outlives its slurmd
        if alive slurmctld "$(pid_of slurmctld)"; then
            export SLURM_CONF=$STATE/etc/slurm.conf
            if [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
                scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
                local until=$((SECONDS + 15))
                while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ $SECONDS -lt $until ]; do sleep 0.5; done
            fi
        fi
        for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
            d=${DAEMONS[$i]}
            for pid in $(pid_of "$d"); do
                alive "$d" "$pid" || continue
                kill -TERM "$pid"
                local end=$((SECONDS + 20))
                while alive "$d" "$pid" && [ $SECONDS -lt $end ]; do sleep 0.2; done
                if alive "$d" "$pid"; then log "$d ($pid) ignored SIGTERM: SIGKILL"; kill -KILL "$pid" || true; fi
            done
        done
    fi
    unlink_default_conf
    # only our own state folder, never a system path
    case "$STATE" in /|/etc*|/usr*|/var/lib*|"") die "refusing to remove $STATE" ;; esac
    rm -rf "$STATE"
    log "stopped (state folder $STATE removed)"
}

cmd_status() {
    export SLURM_CONF=$STATE/etc/slurm.conf
    all_alive || { log "not running (no live daemons recorded in $STATE/pids)"; return 1; }
    cat "$STATE/pids"
    sinfo
    sacct -X -o JobID,JobName%30,Account,State,ExitCode
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 install|start|stop|status   (state folder: \$SEQZOO_SLURM_DIR, default /tmp/seqzoo-slurm)" >&2; exit 2 ;;
esac
