#!/usr/bin/env bash
# Start the hosts lab: LAB_HOSTS sshd "hosts" on 127.0.0.1:(LAB_SSH_PORT_BASE+i), for the tests of
# `--hosts` over SSH. Each sshd is PID 1 of its own PID + mount + UTS + cgroup namespace, so on hostN
# `hostname` says hostN, `ps -e` shows only hostN's processes and /home/$LAB_SSH_USER is hostN's own
# folder. The network and the rest of the filesystem are shared (loopback only), so every host can
# run this checkout's reaper: `node <checkout>/dist/src/cli/main.js`. Key-only login as
# $LAB_SSH_USER, pinned host keys. Idempotent: hosts that are up are left alone. Needs root.
# Writes $HOSTS_LAB_DIR/env (KEY=VALUE lines) for the tests (test/helpers/ssh-lab.ts).
#
#   LAB_HOSTS=3  LAB_SSH_PORT_BASE=2200  LAB_SSH_USER=reaperlab
#   LAB_CHECKOUT=<this checkout>   the reaper the hosts run; when the lab user cannot read it where it
#                is (a clone under root's 0700 home), each host sees it bound read-only at
#                $HOSTS_LAB_DIR/checkout, and the env file says so (REAPER_LAB_REMOTE_CHECKOUT).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root (namespaces, a user, sshd)"
T0=$(ms)
LAB_HOSTS=${LAB_HOSTS:-3}
LAB_SSH_PORT_BASE=${LAB_SSH_PORT_BASE:-2200}
LAB_SSH_USER=${LAB_SSH_USER:-reaperlab}
LAB_CHECKOUT=$(cd "${LAB_CHECKOUT:-$HERE/../..}" && pwd -P)
H=$HOSTS_LAB_DIR
[[ $LAB_HOSTS =~ ^[1-9][0-9]?$ ]] || die "LAB_HOSTS=$LAB_HOSTS: give 1..99"

[ -x /usr/sbin/sshd ] || install_missing openssh-server
command -v ssh >/dev/null || install_missing openssh-client
command -v unshare >/dev/null || install_missing util-linux
SSHD=/usr/sbin/sshd SSH=$(command -v ssh)
NODE=$(command -v node) || die "node is not in PATH (the hosts run reaper with it)"
NODE=$(readlink -f "$NODE")
mkdir -p /run/sshd && chmod 755 /run/sshd      # sshd's privilege-separation folder: it refuses to start without it
# The cgroup2 mount (/sys/fs/cgroup/unified on a hybrid machine, /sys/fs/cgroup on v2-only): each host
# lives in <cg2>/reaperlab-hostN, which hosts-stop.sh empties with cgroup.kill.
CG2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)

# The login user. '*' and not useradd's '!': with UsePAM no, '!' is a locked account and key login fails.
# hosts-stop.sh --purge removes the user only if this lab created it (.user-created).
mkdir -p "$H"
if ! id "$LAB_SSH_USER" >/dev/null 2>&1; then
  useradd -m -s /bin/bash -p '*' -c 'reaper test lab' "$LAB_SSH_USER"
  touch "$H/.user-created"
fi
HOME_DIR=$(getent passwd "$LAB_SSH_USER" | cut -d: -f6)
[ -d "$HOME_DIR" ] || die "$LAB_SSH_USER has no home folder ($HOME_DIR)"
as_user() { setpriv --reuid="$LAB_SSH_USER" --regid="$(id -g "$LAB_SSH_USER")" --init-groups "$@"; }

# Can the lab user read this checkout where it is? If not, every host binds it at $H/checkout.
REMOTE_CHECKOUT=$LAB_CHECKOUT
if ! as_user test -r "$LAB_CHECKOUT/package.json"; then
  REMOTE_CHECKOUT=$H/checkout
  say "$LAB_SSH_USER cannot read $LAB_CHECKOUT: the hosts see it at $REMOTE_CHECKOUT"
fi
as_user test -x "$NODE" || say "WARNING: $LAB_SSH_USER cannot run $NODE: reaper will not run on the hosts"
NODE_DIR=$(dirname "$NODE")
case ":/usr/local/bin:/usr/bin:/bin:" in *":$NODE_DIR:"*) PATH_LINE="" ;; *) PATH_LINE="SetEnv PATH=$NODE_DIR:/usr/local/bin:/usr/bin:/bin" ;; esac

# Keys, made once and kept across restarts: the client key and one host key per host (pinned below).
mkdir -p "$H/bin" "$H/checkout"; chmod 755 "$H" "$H/bin" "$H/checkout"
[ -f "$H/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C reaper-lab-client -f "$H/id_ed25519"
install -m 644 "$H/id_ed25519.pub" "$H/authorized_keys"
{
  echo "# reaper hosts lab, written by test/lab/hosts-start.sh: ssh -F $H/ssh_config hostN"
  echo "Host host*"
  echo "  HostName 127.0.0.1"
  echo "  User $LAB_SSH_USER"
  echo "  IdentityFile $H/id_ed25519"
  echo "  IdentitiesOnly yes"
  echo "  UserKnownHostsFile $H/known_hosts"
  echo "  GlobalKnownHostsFile /dev/null"
  echo "  StrictHostKeyChecking yes"
  echo "  BatchMode yes"
  echo "  ConnectTimeout 5"
  echo "  LogLevel ERROR"
} >"$H/ssh_config.new"
: >"$H/known_hosts.new"

started=0 ports=()
for ((i = 1; i <= LAB_HOSTS; i++)); do
  name=host$i port=$((LAB_SSH_PORT_BASE + i)) d=$H/host$i
  ports+=("$port")
  mkdir -p "$d/home"
  [ -f "$d/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$d/ssh_host_ed25519_key"
  echo "$name $(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" >>"$H/known_hosts.new"
  # HostKeyAlias: the three hosts share 127.0.0.1, each with its own pinned key.
  printf 'Host %s\n  Port %s\n  HostKeyAlias %s\n' "$name" "$port" "$name" >>"$H/ssh_config.new"

  if pid=$(pid_of "$d/init.pid" unshare); then
    say "$name already up (pid $pid, port $port)"; continue
  fi
  [ -z "$(ss -Hltn "sport = :$port")" ] || die "port $port is taken by something this lab did not start"

  cat >"$d/sshd_config" <<EOF
# reaper hosts lab: $name (written by test/lab/hosts-start.sh)
Port $port
ListenAddress 127.0.0.1
HostKey $d/ssh_host_ed25519_key
PidFile none
AuthorizedKeysFile $H/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
AcceptEnv LANG LC_* REAPER_*
MaxStartups 100:30:200
MaxSessions 64
$PATH_LINE
EOF
  "$SSHD" -t -f "$d/sshd_config" || die "sshd -t rejected $d/sshd_config"
  [ -f "$d/home/.profile" ] || cp /etc/skel/.bashrc /etc/skel/.profile "$d/home/" 2>/dev/null || true
  chown -R "$LAB_SSH_USER:" "$d/home"; chmod 755 "$d/home"

  cg=""
  if [ -n "$CG2" ]; then cg=$CG2/reaperlab-$name; mkdir -p "$cg"; fi
  # Inside the new namespaces (set -e: a host that cannot be isolated does not start at all).
  inner="set -e
    hostname $name
    mount --make-rprivate /
    mount --bind '$d/home' '$HOME_DIR'
    $( [ "$REMOTE_CHECKOUT" != "$LAB_CHECKOUT" ] && echo "mount --bind '$LAB_CHECKOUT' '$REMOTE_CHECKOUT'; mount -o remount,bind,ro '$REMOTE_CHECKOUT'" )
    $( [ -n "$CG2" ] && echo "umount -l '$CG2'; mount -t cgroup2 cgroup2 '$CG2'" )
    exec $SSHD -D -e -f '$d/sshd_config'"
  # The outer bash joins the host's cgroup and becomes unshare (same pid: init.pid); unshare's child
  # is the namespace's PID 1, sshd, which reaps every orphan on that host. --kill-child: when unshare
  # dies, so does PID 1, and with it every process of the namespace.
  setsid bash -c '[ -z "$1" ] || echo $$ >"$1/cgroup.procs"; shift; exec "$@"' _ "$cg" \
    unshare --pid --fork --kill-child --mount --uts --cgroup --mount-proc --propagation private \
    bash -c "$inner" </dev/null >"$d/sshd.log" 2>&1 &
  echo $! >"$d/init.pid"
  started=$((started + 1))
done
mv "$H/known_hosts.new" "$H/known_hosts"; mv "$H/ssh_config.new" "$H/ssh_config"
chmod 644 "$H/known_hosts" "$H/ssh_config"

# ssh reads ~/.ssh/config of the passwd home, not $HOME: tests put this wrapper first in PATH instead.
cat >"$H/bin/ssh" <<EOF
#!/bin/sh
# reaper hosts lab: the system ssh with the lab's config
exec $SSH -F '$H/ssh_config' "\$@"
EOF
chmod 755 "$H/bin/ssh"

listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
for ((i = 1; i <= LAB_HOSTS; i++)); do
  poll 10 listening "${ports[i - 1]}" || { tail -5 "$H/host$i/sshd.log" >&2; die "host$i: nothing listens on port ${ports[i - 1]}"; }
done
# The first login proves keys, user and namespace; the tests read the env file as "the lab is up".
out=$("$H/bin/ssh" host1 'echo "$(hostname) $(cat /proc/1/comm)"' </dev/null 2>&1) || die "ssh host1 failed: $out"
[ "$out" = "host1 sshd" ] || die "host1 is not isolated: hostname and PID 1 are \"$out\""
"$H/bin/ssh" host1 "test -r '$REMOTE_CHECKOUT/package.json'" </dev/null ||
  say "WARNING: $LAB_SSH_USER cannot read $REMOTE_CHECKOUT/package.json on the hosts: reaper will not run there"
hosts=$(seq -s, -f 'host%g' 1 "$LAB_HOSTS")
cat >"$H/env" <<EOF
REAPER_LAB_HOSTS=$hosts
REAPER_LAB_HOST_PORTS=$(IFS=,; echo "${ports[*]}")
REAPER_LAB_SSH_CONFIG=$H/ssh_config
REAPER_LAB_SSH_BIN=$H/bin
REAPER_LAB_SSH_USER=$LAB_SSH_USER
REAPER_LAB_SSH_IDENTITY=$H/id_ed25519
REAPER_LAB_KNOWN_HOSTS=$H/known_hosts
REAPER_LAB_CHECKOUT=$LAB_CHECKOUT
REAPER_LAB_REMOTE_CHECKOUT=$REMOTE_CHECKOUT
REAPER_LAB_NODE=$NODE
EOF
say "hosts up: $hosts on 127.0.0.1:$((LAB_SSH_PORT_BASE + 1))..$((LAB_SSH_PORT_BASE + LAB_HOSTS)) as $LAB_SSH_USER ($started started) in $(( $(ms) - T0 )) ms"
say "clients: PATH=$H/bin:\$PATH ssh host1 (or ssh -F $H/ssh_config host1); tests read $H/env"
