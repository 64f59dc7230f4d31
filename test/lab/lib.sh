# shellcheck shell=bash
# Helpers shared by the lab scripts (sourced). Every location is a variable so a developer can move
# the lab; the defaults are the ones the tests look at (test/helpers/slurm-lab.ts).

LAB_DIR=${LAB_DIR:-/var/lib/reaper-lab}
SLURM_LAB_DIR=${SLURM_LAB_DIR:-$LAB_DIR/slurm}     # spool, logs, pid files, jobcomp, fake GPUs, env
SLURM_ETC=${SLURM_ETC:-/etc/slurm}                 # slurm.conf, gres.conf, cgroup.conf (clients find it without SLURM_CONF)
MUNGE_RUN=${MUNGE_RUN:-/run/munge}
LAB_MARK='# written by reaper test/lab/start.sh'   # marks config files this lab may overwrite or delete

# start.sh empties SLURM_LAB_DIR and stop.sh deletes files in it: never a shared folder.
case "$SLURM_LAB_DIR" in
  /*/*/*) ;;
  *) printf '[lab] SLURM_LAB_DIR=%s: give a folder of its own, at least three levels deep\n' "$SLURM_LAB_DIR" >&2; exit 1 ;;
esac

say() { printf '[lab %s] %s\n' "$(date -u +%T)" "$*" >&2; }
die() { say "cannot start: $*"; exit 1; }
ms()  { date +%s%3N; }

# A pid is alive when it exists and is not a zombie: this machine's PID 1 reaps orphans only every
# ~2 s, so kill -0 keeps saying "alive" for a daemon that already exited.
alive() {
  local st
  [[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -gt 1 ] || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "${st%% *}" != Z ]
}

# The pid in FILE, if it is alive and its comm is COMM (a recycled pid is never ours).
pid_of() {
  local pid
  [ -r "$1" ] || return 1
  pid=$(tr -dc '0-9' <"$1")
  alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && printf '%s' "$pid"
}

# poll SECONDS CMD...: run CMD every 100 ms until it succeeds or the time is up.
poll() {
  local end=$(( $(ms) + $1 * 1000 )); shift
  until "$@" >/dev/null 2>&1; do [ "$(ms)" -lt "$end" ] || return 1; sleep 0.1; done
}

# stop_one NAME PID GRACE: TERM, then KILL after GRACE seconds. One explicit pid, never a name.
stop_one() {
  alive "$2" || return 0
  say "stopping $1 ($2)"
  kill -TERM "$2" 2>/dev/null
  poll "$3" bash -c "! { s=\$(sed 's/^.*) //' /proc/$2/stat 2>/dev/null) && [ \"\${s%% *}\" != Z ]; }" && return 0
  say "$1 ($2) still there after ${3}s: SIGKILL"
  kill -KILL "$2" 2>/dev/null
  poll 5 bash -c "! { s=\$(sed 's/^.*) //' /proc/$2/stat 2>/dev/null) && [ \"\${s%% *}\" != Z ]; }" || say "WARNING: $1 ($2) survived SIGKILL"
}

# Install the Debian packages that are missing. A temporary policy-rc.d stops postinst from starting
# the daemons (there is no systemd here; the lab starts them itself, with its own config).
install_missing() {
  local want=() p own=0
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || want+=("$p")
  done
  [ ${#want[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing ${want[*]} and no apt-get"
  say "installing ${want[*]}"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null || rc=$?
  }
  [ "$own" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install ${want[*]} failed (rc $rc)"
}

# The hosts lab (hosts-start.sh, hosts-stop.sh): sshd configs, keys, pid files, per-host homes, env.
HOSTS_LAB_DIR=${HOSTS_LAB_DIR:-$LAB_DIR/hosts}
case "$HOSTS_LAB_DIR" in
  /*/*/*) ;;
  *) printf '[lab] HOSTS_LAB_DIR=%s: give a folder of its own, at least three levels deep\n' "$HOSTS_LAB_DIR" >&2; exit 1 ;;
esac
