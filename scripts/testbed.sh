#!/usr/bin/env bash
# The test bed: N test hosts tb1..tbN on one machine, each a network namespace
# on the lab bridge with its own Docker engine and its own sshd, plus a local
# registry that every engine uses as its Docker Hub mirror.
#
#   ./scripts/testbed.sh up N         ensure tb1..tbN are up (idempotent)
#   ./scripts/testbed.sh down [--purge]  remove everything `up` made
#   ./scripts/testbed.sh ls [--json]  list the hosts and how to reach them
#   ./scripts/testbed.sh status       exit 0 iff every listed host answers
#   ./scripts/testbed.sh live-restore on|off [tbN ...]
#                                     switch the engines' live-restore (all, or
#                                     those named; a reload, no restart): Docker
#                                     Swarm mode refuses it
#
# Layout: lab bridge stvlab0 = 10.211.0.1/24; host tbI is namespace stv-tbI at
# 10.211.0.(10+I); its engine listens on unix://$RUN/tbI/docker.sock and, with
# mutual TLS (the test bed's own CA, client bundle $STATE/tls/client), on
# tcp://10.211.0.(10+I):2376, the way a remote engine is reached; its sshd
# on 10.211.0.(10+I):22 (root, key $STATE/keys/id_ed25519); the registry on
# 10.211.0.1:5000. State (data roots, keys, registry storage) lives in
# ${STEVEDORE_TESTBED_DIR:-/var/lib/stevedore-testbed}, never in the repo.
#
# What an SSH session on tbI sees: sshd runs in tbI's network namespace, a UTS
# namespace (hostname tbI) and a mount namespace of its own, in which the
# paths a provisioned host keeps for itself are tbI's own directories
# ($STATE/hosts/tbI/fs/..., $RUN/tbI/fs/run-stevedore) and /var/run/docker.sock
# is tbI's engine: `stevedore node add root@10.211.0.1I` then installs and runs
# an agent there as on a real host, without colliding with tb2's.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/registry.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/registry.sh"
STV_LOG_TAG=testbed

STATE=${STEVEDORE_TESTBED_DIR:-/var/lib/stevedore-testbed}
RUN=/run/stevedore-testbed
BRIDGE=stvlab0
NET_PREFIX=10.211.0
BRIDGE_IP=$NET_PREFIX.1
REGISTRY_ADDR=$BRIDGE_IP:5000
KEY=$STATE/keys/id_ed25519
TLS=$STATE/tls
ENGINE_TLS_PORT=2376
IPT_COMMENT=stevedore-testbed
MAX_HOSTS=200
RUNTIME=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/stevedore-runc

host_ip() { echo "$NET_PREFIX.$((10 + $1))"; }
host_ns() { echo "stv-tb$1"; }
host_veth() { echo "stvtb$1"; } # host side of the veth; the namespace side is eth0
host_dir() { echo "$STATE/hosts/tb$1"; }
host_run() { echo "$RUN/tb$1"; }
host_sock() { echo "$(host_run "$1")/docker.sock"; }

# Paths private to each host inside its sshd's mount namespace, as
# "MOUNTPOINT SOURCE" lines (sources under the host's state and run dirs).
host_private_mounts() {
  local dir run
  dir=$(host_dir "$1") run=$(host_run "$1")
  printf '%s %s\n' /opt/stevedore "$dir/fs/opt-stevedore" \
    /var/lib/stevedore-agent "$dir/fs/var-lib-stevedore-agent" \
    /run/stevedore "$run/fs/run-stevedore"
}
# The hosts that exist, as numbers, ascending: a host exists while its state
# directory or its namespace does (so `down` also cleans up a half-made host).
existing_hosts() {
  {
    local d
    for d in "$STATE"/hosts/tb*; do [[ -d $d ]] && echo "${d##*/tb}"; done
    ip netns list 2>/dev/null | awk '{ print $1 }' | sed -n 's/^stv-tb\([0-9][0-9]*\)$/\1/p'
  } | grep -E '^[0-9]+$' | sort -n | uniq
}

# ---------------------------------------------------------------- network

iptables_rules() {
  # The host's dockerd sets FORWARD to DROP and br_netfilter sends bridged
  # frames through it, so traffic between lab hosts needs explicit ACCEPTs.
  printf '%s\n' "FORWARD -i $BRIDGE -o $BRIDGE -m comment --comment $IPT_COMMENT -j ACCEPT"
}

network_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  local rule
  while read -r rule; do
    # shellcheck disable=SC2086
    iptables -w -C $rule 2>/dev/null || iptables -w -I $rule
  done < <(iptables_rules)
}

network_down() {
  local rule
  while read -r rule; do
    # shellcheck disable=SC2086
    while iptables -w -C $rule 2>/dev/null; do iptables -w -D $rule; done
  done < <(iptables_rules)
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
}

# Namespace + veth + addresses for host I. Serial (cheap) so `ip netns add`
# never races with itself on /run/netns.
host_net_up() {
  local i=$1 ns veth ip
  ns=$(host_ns "$i") veth=$(host_veth "$i") ip=$(host_ip "$i")
  [[ -e /var/run/netns/$ns ]] || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$BRIDGE"
  ip link set "$veth" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  # No default route on purpose: a test host can reach the lab (and the
  # registry on the bridge) and nothing else.
}

# host_prefix I: sets HOST_PREFIX to the argv prefix that runs a command
# inside test host I: its network namespace plus a UTS namespace of its own
# whose hostname is tbI (so `docker info` and ssh sessions tell the hosts
# apart). Every step execs, so the PID we record is the daemon's.
# nsenter --net, not `ip netns exec`: the latter also remounts /sys in a new
# mount namespace, and dockerd then cannot find its cgroups.
host_prefix() {
  # shellcheck disable=SC2016
  HOST_PREFIX=(unshare --uts -- bash -c 'hostname "$1" && exec nsenter "--net=/var/run/netns/$2" -- "${@:3}"'
    in_host "tb$1" "$(host_ns "$1")")
}

# ---------------------------------------------------------------- keys

keys_up() {
  mkdir -p "$STATE/keys"
  chmod 755 "$STATE"
  chmod 700 "$STATE/keys"
  if [[ ! -s $KEY ]]; then
    ssh-keygen -q -t ed25519 -N '' -C stevedore-testbed -f "$KEY"
  fi
  install -m 600 "$KEY.pub" "$STATE/keys/authorized_keys"
}

host_keys_up() {
  local i=$1 dir=$STATE/keys/tb$1
  mkdir -p "$dir"
  chmod 700 "$dir"
  [[ -s $dir/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -C "tb$i" -f "$dir/ssh_host_ed25519_key"
}

# ---------------------------------------------------------------- engine TLS

# The test bed's own CA, a client bundle (ca.pem cert.pem key.pem, as the
# docker CLI reads DOCKER_CERT_PATH) and a server certificate per host for its
# engine's TCP endpoint. RSA 2048 like the gateway's, so the two compare fairly.
tls_ca_up() {
  mkdir -p "$TLS/client"
  chmod 700 "$TLS"
  if [[ ! -s $TLS/ca.pem ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS/ca-key.pem" -out "$TLS/ca.pem" \
      -days 3650 -subj /CN=stevedore-testbed-ca 2>/dev/null
  fi
  if [[ ! -s $TLS/client/cert.pem ]]; then
    openssl req -newkey rsa:2048 -nodes -keyout "$TLS/client/key.pem" -out "$TLS/client/req.csr" -subj /CN=testbed-client 2>/dev/null
    openssl x509 -req -in "$TLS/client/req.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca-key.pem" -CAcreateserial \
      -days 3650 -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$TLS/client/cert.pem" 2>/dev/null
    rm -f "$TLS/client/req.csr"
    cp "$TLS/ca.pem" "$TLS/client/ca.pem"
  fi
}

tls_host_up() {
  local i=$1 d=$TLS/tb$1
  [[ -s $d/cert.pem ]] && return 0
  mkdir -p "$d"
  openssl req -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/req.csr" -subj "/CN=tb$i" 2>/dev/null
  openssl x509 -req -in "$d/req.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca-key.pem" -CAcreateserial -days 3650 \
    -extfile <(printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$(host_ip "$i")") -out "$d/cert.pem" 2>/dev/null
  rm -f "$d/req.csr"
}

# ---------------------------------------------------------------- daemons

# daemon_json I on|off: the engine's own config file. live-restore lives here,
# not on the command line, so `live-restore off` can reload it (SIGHUP). The
# `stevedore` runtime (bin/stevedore-runc: runc plus the network of an instance
# sandbox, src/agent/network/sandbox.ts) is registered as an operator would
# register it on a real host; the engines use it only for containers that ask.
daemon_json() {
  local dir
  dir=$(host_dir "$1")
  printf '{"deprecated-key-path": "%s", "live-restore": %s, "runtimes": {"stevedore": {"path": "%s"}}}\n' \
    "$dir/key.json" "$([[ $2 == on ]] && echo true || echo false)" "$RUNTIME" >"$dir/daemon.json"
}

dockerd_up() {
  local i=$1 ns dir run sock
  ns=$(host_ns "$i") dir=$(host_dir "$i") run=$(host_run "$i") sock=$(host_sock "$i")
  if stv_alive "$run/docker.pid" && stv_engine_ping "$sock"; then return 0; fi
  stv_stop_pidfile "$run/docker.pid" 20
  mkdir -p "$dir/docker" "$run/exec"
  # Our own config file keeps the machine's /etc/docker/daemon.json out of it;
  # a key of its own gives each engine its own ID (the default, shared
  # /etc/docker/key.json would give every host the same one).
  # A restarted engine keeps the live-restore it had (Swarm mode refuses to start with it on).
  local live=on
  [[ -s $dir/daemon.json ]] && ! grep -Eq '"live-restore": *true' "$dir/daemon.json" && live=off
  daemon_json "$i" "$live"
  tls_host_up "$i"
  host_prefix "$i"
  # The engine shares the host's mount namespace with its sshd (and so with
  # the agent started over SSH), as on a real host: the agent's secrets tmpfs
  # is what the engine bind-mounts into containers. That namespace is a slave
  # of the machine's, so what processes outside the host mount later (an
  # in-process gateway agent's tmpfs, a test's bind source) reaches it too.
  local mnt
  if mnt=$(host_mnt_ns "$i"); then
    # shellcheck disable=SC2016
    HOST_PREFIX=(unshare --uts -- bash -c 'hostname "$1" && exec nsenter "--net=/var/run/netns/$2" "--mount=$3" -- "${@:4}"'
      in_host "tb$i" "$ns" "$mnt")
  fi
  stv_spawn "$run/dockerd.spawn.pid" "$dir/dockerd.log" \
    "${HOST_PREFIX[@]}" dockerd \
    --config-file "$dir/daemon.json" \
    --data-root "$dir/docker" \
    --exec-root "$run/exec" \
    --pidfile "$run/docker.pid" \
    -H "unix://$sock" \
    -H "tcp://$(host_ip "$i"):$ENGINE_TLS_PORT" \
    --tlsverify --tlscacert "$TLS/ca.pem" --tlscert "$TLS/tb$i/cert.pem" --tlskey "$TLS/tb$i/key.pem" \
    --cgroup-parent "/stevedore-testbed/tb$i" \
    --registry-mirror "http://$REGISTRY_ADDR" \
    --insecure-registry "$REGISTRY_ADDR"
  rm -f "$run/dockerd.spawn.pid" # same PID as docker.pid (nsenter execs dockerd)
  stv_wait_for 60 "dockerd of tb$i" stv_engine_ping "$sock" || {
    tail -n 20 "$dir/dockerd.log" >&2 || true
    return 1
  }
}

# root_shared_up: the machine's / must be a shared mount (systemd makes it
# one at boot on Debian; a container or a sandbox may not) so that each host's
# mount namespace, made a slave of it, receives the mounts that processes
# outside the host make later: the secrets tmpfs of a gateway's own agent or
# of an agent a test runs beside the host, which that host's engine
# bind-mounts into containers. Only the propagation flag of / changes, and
# `down` sets it back if `up` changed it.
root_shared_up() {
  awk '$5 == "/" && $0 ~ / shared:/ { found = 1 } END { exit !found }' /proc/self/mountinfo && return 0
  mount --make-shared / || stv_die "cannot make / a shared mount (needed for the hosts' mount namespaces)"
  touch "$STATE/root-made-shared"
}

root_shared_down() {
  [[ -e $STATE/root-made-shared ]] || return 0
  mount --make-private / || stv_log "could not set / back to private"
  rm -f "$STATE/root-made-shared"
}

# sshd_prefix I: like host_prefix, plus a mount namespace of the host's own
# (its dockerd joins it too) in which the host's own directories are bound
# over HOST_PRIVATE_PATHS before sshd starts. Every process started over SSH
# (agents included) inherits it. Slave propagation: the machine's later
# mounts show inside, the host's own mounts never leak out to the machine.
sshd_prefix() {
  local i=$1 mp src
  local -a binds=()
  while read -r mp src; do
    mkdir -p "$mp" "$src" # the mount points exist (empty) on the machine itself
    binds+=("$src" "$mp")
  done < <(host_private_mounts "$i")
  # shellcheck disable=SC2016
  # /run is a tmpfs of the host's own: the machine's dockerd unlinks and
  # recreates /run/docker.sock whenever it (re)starts, and unlinking a file
  # that is a bind mount point in another mount namespace silently detaches
  # that bind there, so a bind over /run/docker.sock would leave tbI's agent
  # talking to the MACHINE's engine. In the private /run, docker.sock is a
  # symlink to tbI's own socket (right across tbI's engine restarts too), and
  # only tbI's run dir ($RUN/tbI: sshd's pidfile, the socket) is bound back.
  # shellcheck disable=SC2016
  SSHD_PREFIX=(unshare --uts --mount --propagation slave -- bash -c '
    hostname "$1" || exit 1
    ns=$2 run=$3 n=$4
    shift 4
    exec 3<"/var/run/netns/$ns" || exit 1
    stage=$(mktemp -d /tmp/stevedore-testbed-run.XXXXXX) || exit 1
    mount --rbind /run "$stage" &&
      mount -t tmpfs -o mode=755,size=64m stevedore-testbed-run /run &&
      mkdir -p /run/sshd /run/lock "$run" &&
      mount --bind "$stage${run#/run}" "$run" &&
      ln -s "$run/docker.sock" /run/docker.sock &&
      umount -l "$stage" && rmdir "$stage" || exit 1
    while ((n > 0)); do mkdir -p "$2" && mount --bind "$1" "$2" || exit 1; shift 2; n=$((n - 1)); done
    exec nsenter --net=/proc/self/fd/3 -- "$@"' in_host "tb$i" "$(host_ns "$i")" "$(host_run "$i")" $((${#binds[@]} / 2)) "${binds[@]}")
}

# The mount namespace of host I (its sshd's), or nothing when sshd is not running.
host_mnt_ns() {
  local pid
  pid=$(stv_pid_of "$(host_run "$1")/sshd.pid") || return 1
  printf '/proc/%s/ns/mnt\n' "$pid"
}

# engine_socket_up I: bind tbI's engine socket over /var/run/docker.sock in
# tbI's mount namespace, again whenever dockerd made a new socket since.
engine_socket_up() {
  local i=$1 mnt sock
  sock=$(host_sock "$i")
  mnt=$(host_mnt_ns "$i") || return 1
  # Never bind into the machine's own mount namespace: that would hide the
  # machine's engine behind tbI's for every process on it.
  [[ $(readlink "$mnt") != "$(readlink /proc/self/ns/mnt)" ]] || stv_die "tb$i's sshd shares the machine's mount namespace; run ./scripts/testbed.sh down && up"
  [[ -e /run/docker.sock ]] || touch /run/docker.sock # a mount point only
  # shellcheck disable=SC2016
  nsenter "--mount=$mnt" -- bash -c '
    [[ $(stat -L -c %d:%i "$1") == "$(stat -L -c %d:%i /run/docker.sock)" ]] && exit 0
    umount /run/docker.sock 2>/dev/null
    mount --bind "$1" /run/docker.sock' engine_socket "$sock"
}

sshd_up() {
  local i=$1 ns dir run ip pid
  ns=$(host_ns "$i") dir=$(host_dir "$i") run=$(host_run "$i") ip=$(host_ip "$i")
  if pid=$(stv_pid_of "$run/sshd.pid"); then
    # An sshd from before hosts had their own mount namespace is replaced.
    if [[ $(readlink "/proc/$pid/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]]; then
      # Its engine lives in that namespace too: one from before it was a slave of / cannot be fixed in place.
      awk '$5 == "/" && $0 ~ / master:/ { found = 1 } END { exit !found }' "/proc/$pid/mountinfo" ||
        stv_die "tb$i's mount namespace predates mount propagation; run ./scripts/testbed.sh down && up"
      return 0
    fi
    stv_stop_pidfile "$run/sshd.pid" 5
  fi
  mkdir -p /run/sshd "$dir" "$run"
  chmod 755 /run/sshd
  cat >"$dir/sshd_config" <<EOF
# Written by scripts/testbed.sh for test host tb$i.
Port 22
ListenAddress $ip
HostKey $STATE/keys/tb$i/ssh_host_ed25519_key
PidFile $run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile $STATE/keys/authorized_keys
# The state dir may sit under a world-writable parent (e.g. /tmp) in tests.
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
# A session on tbI talks to tbI's engine by default.
SetEnv DOCKER_HOST=unix://$(host_sock "$i")
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  /usr/sbin/sshd -t -f "$dir/sshd_config"
  # sshd daemonises itself and writes its PidFile.
  sshd_prefix "$i"
  "${SSHD_PREFIX[@]}" /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" 9>&-
  stv_wait_for 10 "sshd of tb$i" stv_alive "$run/sshd.pid"
}

host_up() {
  local i=$1
  host_keys_up "$i"
  sshd_up "$i" && dockerd_up "$i" && engine_socket_up "$i"
}

# ---------------------------------------------------------------- teardown

# Kill every process still inside a cgroup subtree (containers orphaned by a
# dead engine). Only our own cgroup parent, /stevedore-testbed/tbI, is read.
kill_cgroup_tree() {
  local rel=$1 ctrl pid
  for ctrl in /sys/fs/cgroup/*/"$rel" /sys/fs/cgroup/"$rel"; do
    [[ -d $ctrl ]] || continue
    while read -r pid; do
      [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
    done < <(find "$ctrl" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  sleep 0.2
  for ctrl in /sys/fs/cgroup/*/"$rel" /sys/fs/cgroup/"$rel"; do
    [[ -d $ctrl ]] && find "$ctrl" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

host_down() {
  local i=$1 ns dir run sock pid
  ns=$(host_ns "$i") dir=$(host_dir "$i") run=$(host_run "$i") sock=$(host_sock "$i")
  # 0. Agents installed over SSH, by the pidfiles in the host's /run/stevedore
  #    (supervisors first, so they do not restart what we stop).
  local f
  for f in "$run"/fs/run-stevedore/*supervisor*.pid "$run"/fs/run-stevedore/*.pid; do
    [[ -e $f ]] && { stv_stop_pidfile "$f" 10 || true; }
  done
  # 1. Containers first, through the engine (live-restore keeps them running otherwise).
  if stv_engine_ping "$sock"; then
    local ids
    ids=$(docker -H "unix://$sock" ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086
    [[ -z $ids ]] || docker -H "unix://$sock" rm -f -v $ids >/dev/null 2>&1 || true
  fi
  # 2. The engine and sshd, by their pidfiles. Every step up to 5 may find its
  #    part already gone (an engine killed by hand): none of them stops the rest.
  stv_stop_pidfile "$run/docker.pid" 20 || true
  stv_stop_pidfile "$run/sshd.pid" 5 || true
  # 3. Anything still inside the namespace was started there by us (containerd,
  #    shims, ssh sessions, agents without a pidfile): stop it by PID. The
  #    host's mount namespace (its private bind mounts) ends with its last process.
  if [[ -e /var/run/netns/$ns ]]; then
    # shellcheck disable=SC2046
    stv_kill_pids 3 $(ip netns pids "$ns" 2>/dev/null) || true
  fi
  # 4. Container processes left in our cgroup parent.
  kill_cgroup_tree "stevedore-testbed/tb$i" || true
  # 5. Mounts, namespace, veth, files.
  host_files_down "$i"
}

# Mounts, namespace, veth and files of host I. Its directory keeps the agent's
# state: one left behind makes the next `up` a host of a swarm that is gone, so
# a failure here is said, and tried once more after the last processes exit.
host_files_down() {
  local i=$1 ns dir run
  ns=$(host_ns "$i") dir=$(host_dir "$i") run=$(host_run "$i")
  stv_unmount_under "$run" "$dir"
  if [[ -e /var/run/netns/$ns ]]; then ip netns del "$ns" || stv_log "tb$i: could not delete namespace $ns"; fi
  if ip link show "$(host_veth "$i")" >/dev/null 2>&1; then ip link del "$(host_veth "$i")" || true; fi
  rm -rf "$run" "$dir" 2>/dev/null || {
    sleep 1
    stv_unmount_under "$run" "$dir"
    rm -rf "$run" "$dir" || { stv_log "tb$i: could not remove $dir"; return 1; }
  }
}

# ---------------------------------------------------------------- commands

cmd_up() {
  local n=${1:-}
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= MAX_HOSTS)) || stv_die "usage: testbed.sh up N (1..$MAX_HOSTS)"
  stv_require_root
  stv_require_cmds ip iptables nsenter dockerd docker sshd ssh-keygen docker-registry curl node flock openssl jq
  mkdir -p "$STATE/hosts" "$RUN"
  exec 9>"$STATE/.lock"
  flock 9
  keys_up
  tls_ca_up
  network_up
  stv_registry_up "$STATE/registry" "$REGISTRY_ADDR"
  root_shared_up
  local i
  for ((i = 1; i <= n; i++)); do
    # A host directory without its namespace is what a failed `down` left
    # (the agent's state of a swarm that is gone, an engine's data): not a host to resume.
    if [[ -d $(host_dir "$i") && ! -e /var/run/netns/$(host_ns "$i") ]]; then
      stv_log "tb$i: removing what an earlier down left behind"
      host_files_down "$i"
    fi
    mkdir -p "$(host_dir "$i")" "$(host_run "$i")"
    host_net_up "$i"
  done
  # Daemons start in parallel: each waits for its own engine.
  local -a pids=()
  for ((i = 1; i <= n; i++)); do host_up "$i" & pids+=($!); done
  local failed=0
  for ((i = 0; i < ${#pids[@]}; i++)); do wait "${pids[$i]}" || { stv_log "tb$((i + 1)) failed to come up"; failed=1; }; done
  ((failed == 0)) || stv_die "some hosts failed; see $STATE/hosts/*/dockerd.log (./scripts/testbed.sh down cleans up)"
  stv_log "up: $(existing_hosts | sed 's/^/tb/' | paste -sd' ')"
  cmd_ls
}

cmd_down() {
  stv_require_root
  local purge=${1:-}
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock 9
  local i
  local -a pids=()
  local -a names=()
  for i in $(existing_hosts); do host_down "$i" & pids+=($!) names+=("tb$i"); done
  local failed=0
  for ((i = 0; i < ${#pids[@]}; i++)); do wait "${pids[$i]}" || { stv_log "${names[$i]}: teardown incomplete (see above)"; failed=1; }; done
  stv_registry_down "$STATE/registry"
  network_down
  root_shared_down
  rmdir "$STATE/hosts" "$RUN" /sys/fs/cgroup/*/stevedore-testbed /sys/fs/cgroup/stevedore-testbed 2>/dev/null || true
  if [[ $purge == --purge ]]; then
    exec 9>&-
    rm -rf "$STATE"
  fi
  ((failed == 0)) || stv_die "down: some hosts were not fully removed"
  stv_log "down"
}

cmd_ls() {
  local json=${1:-} i
  local -a hosts=()
  mapfile -t hosts < <(existing_hosts)
  if [[ $json == --json ]]; then
    local entries='[]' h
    for i in "${hosts[@]}"; do
      h=$(jq -n --arg name "tb$i" --arg address "$(host_ip "$i")" --arg sock "$(host_sock "$i")" \
        --arg ns "$(host_ns "$i")" --arg key "$KEY" --arg tlsPort "$ENGINE_TLS_PORT" --arg certPath "$TLS/client" --argjson up "$(host_is_up "$i" && echo true || echo false)" '{
          name: $name, address: $address, namespace: $ns, up: $up,
          dockerHost: ("unix://" + $sock), socketPath: $sock,
          tls: { dockerHost: ("tcp://" + $address + ":" + $tlsPort), certPath: $certPath },
          ssh: { host: $address, port: 22, user: "root", keyPath: $key,
                 command: ("ssh -i " + $key + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@" + $address) }
        }')
      entries=$(jq -c --argjson h "$h" '. + [$h]' <<<"$entries")
    done
    jq -n --argjson hosts "$entries" --arg registry "$REGISTRY_ADDR" --arg key "$KEY" \
      --arg state "$STATE" --arg bridge "$BRIDGE" --arg bridgeAddress "$BRIDGE_IP" \
      --argjson registryUp "$(stv_registry_ping "$REGISTRY_ADDR" && echo true || echo false)" '{
        registry: $registry, registryUp: $registryUp, keyPath: $key, stateDir: $state,
        bridge: $bridge, bridgeAddress: $bridgeAddress, subnet: "10.211.0.0/24", hosts: $hosts
      }'
    return 0
  fi
  for i in "${hosts[@]}"; do
    printf 'tb%s\t%s\tunix://%s\tssh -i %s -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@%s\n' \
      "$i" "$(host_ip "$i")" "$(host_sock "$i")" "$KEY" "$(host_ip "$i")"
  done
}

host_is_up() {
  stv_engine_ping "$(host_sock "$1")" && stv_alive "$(host_run "$1")/sshd.pid"
}

# status [N]: exit 0 iff the registry and every existing host (at least N) answer.
cmd_status() {
  local want=${1:-1} count=0 i
  stv_registry_ping "$REGISTRY_ADDR" || return 1
  for i in $(existing_hosts); do host_is_up "$i" || return 1; count=$((count + 1)); done
  ((count >= want))
}

# live-restore on|off: every running engine's live-restore, reloaded in place.
cmd_live_restore() {
  local want=${1:-} i run sock
  [[ $want == on || $want == off ]] || stv_die "usage: testbed.sh live-restore on|off [tbN ...]"
  shift
  stv_require_root
  local -a which=()
  if (($# > 0)); then
    local name
    for name in "$@"; do
      [[ $name =~ ^tb([0-9]+)$ ]] || stv_die "not a test host: $name"
      which+=("${BASH_REMATCH[1]}")
    done
  else
    mapfile -t which < <(existing_hosts)
  fi
  for i in "${which[@]}"; do
    run=$(host_run "$i") sock=$(host_sock "$i")
    stv_alive "$run/docker.pid" || continue
    daemon_json "$i" "$want"
    kill -HUP "$(stv_pid_of "$run/docker.pid")"
    local expect=false
    [[ $want == on ]] && expect=true
    stv_wait_for 10 "tb$i live-restore $want" bash -c \
      '[[ $(curl -fsS --max-time 2 --unix-socket "$1" http://engine/info | jq .LiveRestoreEnabled) == "$2" ]]' _ "$sock" "$expect"
  done
  stv_log "live-restore $want: $(printf 'tb%s\n' "${which[@]}" | paste -sd' ')"
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    ls) cmd_ls "$@" ;;
    status) cmd_status "$@" ;;
    live-restore) cmd_live_restore "$@" ;;
    *)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
