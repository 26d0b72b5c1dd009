#!/usr/bin/env bash
# Quickstart: from a fresh Debian machine (as root) to a running Stevedore
# gateway that the real docker CLI talks to over mutual TLS.
#
#   ./scripts/quickstart.sh         install, build, start (idempotent: a second
#                                   run restarts the gateway on the new build)
#   ./scripts/quickstart.sh stop    stop what the quickstart started, by PID
#
# What it starts, each with a pidfile and a log in ${STEVEDORE_HOME:-/var/lib/stevedore}:
#   - a registry on 127.0.0.1:5000 with `library/busybox:latest` in it (there
#     is no Docker Hub here; the engine uses the registry as its mirror);
#   - a Docker engine, only if none answers on /var/run/docker.sock;
#   - the gateway on 0.0.0.0:2376, with the PKI in ./certs, under a restart
#     loop (scripts/lib/supervise.sh) so a crashed or killed gateway comes back.
#
# For testing the script in isolation (e.g. inside a spare network namespace):
# STEVEDORE_ENGINE_SOCK (default /var/run/docker.sock), and for an engine we
# start, STEVEDORE_DOCKERD_DATA_ROOT and STEVEDORE_DOCKERD_EXEC_ROOT.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/registry.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/registry.sh"
STV_LOG_TAG=quickstart
cd "$STV_REPO_ROOT"

HOME_DIR=${STEVEDORE_HOME:-/var/lib/stevedore}
ENGINE_SOCK=${STEVEDORE_ENGINE_SOCK:-/var/run/docker.sock}
ENGINE=unix://$ENGINE_SOCK
REGISTRY_ADDR=127.0.0.1:5000
GATEWAY_LISTEN=0.0.0.0:2376
GATEWAY_ADDR=127.0.0.1:2376
PKI_DIR=certs
BUNDLE=$STV_REPO_ROOT/$PKI_DIR/bundles/admin
STEVEDORE=(node bin/stevedore.js)

PACKAGES=(docker.io docker-compose docker-registry busybox-static openssh-server
  iptables nftables wireguard-go wireguard-tools iproute2 openssl jq socat curl)

# ---------------------------------------------------------------- steps

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    stv_log "Debian packages: all present"
    return 0
  fi
  stv_log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -q </dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

check_node() {
  command -v node >/dev/null || stv_die "Node.js 20 or newer is needed (node not found)"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  ((major >= 20)) || stv_die "Node.js 20 or newer is needed (found $(node -v))"
}

install_npm() {
  # npm ci wipes node_modules: do it only when the lock file changed since.
  if [[ -f node_modules/.package-lock.json && ! package-lock.json -nt node_modules/.package-lock.json ]]; then
    stv_log "npm dependencies: up to date"
  else
    stv_log "npm ci"
    npm ci --no-audit --no-fund </dev/null
  fi
}

build() {
  stv_log "npm run build"
  if ! npm run --silent build </dev/null; then
    [[ -f dist/src/cli/main.js ]] || stv_die "the build failed and produced no CLI"
    stv_log "warning: the type check failed (above); continuing with the JavaScript tsc emitted"
  fi
}

engine_mirrors() {
  curl -fsS --max-time 5 --unix-socket "$ENGINE_SOCK" http://engine/info | jq -r '.RegistryConfig.Mirrors[]?'
}

ensure_engine() {
  local dir=$HOME_DIR/engine
  mkdir -p "$dir"
  if stv_engine_ping "$ENGINE_SOCK"; then
    if stv_alive "$dir/dockerd.pid"; then
      stv_log "engine: ours, already running ($ENGINE)"
    else
      stv_log "engine: reusing the one already answering on $ENGINE"
    fi
  else
    stv_log "engine: none answers on $ENGINE; starting dockerd"
    local -a args=(-H "$ENGINE" --pidfile "$dir/dockerd.pid" --live-restore
      --registry-mirror "http://$REGISTRY_ADDR")
    [[ -z ${STEVEDORE_DOCKERD_DATA_ROOT:-} ]] || args+=(--data-root "$STEVEDORE_DOCKERD_DATA_ROOT")
    [[ -z ${STEVEDORE_DOCKERD_EXEC_ROOT:-} ]] || args+=(--exec-root "$STEVEDORE_DOCKERD_EXEC_ROOT")
    mkdir -p "$(dirname "$ENGINE_SOCK")"
    stv_spawn "$dir/dockerd.spawn.pid" "$dir/dockerd.log" dockerd "${args[@]}"
    rm -f "$dir/dockerd.spawn.pid" # same PID as dockerd.pid: dockerd is exec'd
    stv_wait_for 60 "the engine on $ENGINE" stv_engine_ping "$ENGINE_SOCK" || {
      tail -n 20 "$dir/dockerd.log" >&2 || true
      stv_die "dockerd did not start (log: $dir/dockerd.log)"
    }
  fi
  if engine_mirrors | grep -qx "http://$REGISTRY_ADDR/\?"; then
    stv_log "engine: mirrors http://$REGISTRY_ADDR, so \`busybox\` pulls from the local registry"
    return 0
  fi
  # Not ours and started without our mirror (we never restart someone's engine):
  # put busybox on it directly instead.
  stv_log "warning: the engine on $ENGINE has no registry mirror http://$REGISTRY_ADDR;" \
    "images other than busybox cannot be pulled by short name (start dockerd with --registry-mirror http://$REGISTRY_ADDR)"
  docker -H "$ENGINE" pull -q "$REGISTRY_ADDR/library/busybox:latest" >/dev/null
  if docker -H "$ENGINE" image inspect busybox:latest >/dev/null 2>&1; then
    stv_log "engine: busybox:latest already present; left as it is"
  else
    docker -H "$ENGINE" tag "$REGISTRY_ADDR/library/busybox:latest" busybox:latest
    stv_log "engine: tagged $REGISTRY_ADDR/library/busybox:latest as busybox:latest"
  fi
}

ensure_pki() {
  stv_log "pki init --dir $PKI_DIR"
  "${STEVEDORE[@]}" pki init --dir "$PKI_DIR" >&2 ||
    stv_die "\`stevedore pki init\` failed (is the pki command in this build? see src/cli/commands/pki.ts)"
  # Keep the bundle while it belongs to the current CA (same ca.pem).
  if [[ -s $BUNDLE/cert.pem && -s $BUNDLE/key.pem ]] && cmp -s "$BUNDLE/ca.pem" "$PKI_DIR/ca/cert.pem"; then
    stv_log "admin bundle: kept $BUNDLE"
  else
    stv_log "pki bundle admin --dir $PKI_DIR"
    "${STEVEDORE[@]}" pki bundle admin --dir "$PKI_DIR" >/dev/null ||
      stv_die "\`stevedore pki bundle admin\` failed"
  fi
  [[ -s $BUNDLE/env.sh ]] || env_lines >"$BUNDLE/env.sh"
}

env_lines() {
  printf 'export DOCKER_HOST=tcp://%s\n' "$GATEWAY_ADDR"
  printf 'export DOCKER_TLS_VERIFY=1\n'
  printf 'export DOCKER_CERT_PATH=%s\n' "$BUNDLE"
  # docker-compose 1.x (python-requests) lets these override the bundle's CA.
  printf 'unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE\n'
}

gateway_answers() {
  docker --tlsverify --tlscacert "$BUNDLE/ca.pem" --tlscert "$BUNDLE/cert.pem" --tlskey "$BUNDLE/key.pem" \
    -H "tcp://$GATEWAY_ADDR" version --format '{{.Server.Version}}'
}

start_gateway() {
  local dir=$HOME_DIR
  if ! "${STEVEDORE[@]}" gateway --help 2>/dev/null | grep -q -- '--listen'; then
    stv_die "this build has no \`stevedore gateway --listen …\` command yet (src/cli/commands/gateway.ts);" \
      "the registry, the engine and the PKI are ready — rerun ./scripts/quickstart.sh once the gateway lands"
  fi
  # Always restart: a second run must serve the new build.
  if stv_alive "$dir/gateway.pid"; then stv_log "gateway: restarting on the new build"; fi
  stop_gateway
  mkdir -p "$dir/gateway"
  # Supervised as agents are on hosts without systemd: a gateway that crashes
  # or is killed comes back by itself (gateway.pid is the gateway's own PID).
  stv_spawn "$dir/gateway-supervisor.pid" "$dir/gateway.log" scripts/lib/supervise.sh "$dir/gateway.pid" gateway \
    "${STEVEDORE[@]}" gateway --listen "$GATEWAY_LISTEN" --pki "$PKI_DIR" --engine "$ENGINE" --state-dir "$dir/gateway"
  if ! stv_wait_for 30 "the gateway on $GATEWAY_ADDR" gateway_answers; then
    tail -n 30 "$dir/gateway.log" >&2 || true
    stop_gateway
    stv_die "the gateway did not answer \`docker version\` on $GATEWAY_ADDR (log: $dir/gateway.log)"
  fi
  stv_log "gateway: pid $(stv_pid_of "$dir/gateway.pid") (its supervisor: $(stv_pid_of "$dir/gateway-supervisor.pid")), answering on tcp://$GATEWAY_ADDR (log: $dir/gateway.log)"
}

# The supervisor first (it stops the gateway and waits for it), then a gateway
# left from before supervision, by its own pidfile.
stop_gateway() {
  stv_stop_pidfile "$HOME_DIR/gateway-supervisor.pid" 20
  stv_stop_pidfile "$HOME_DIR/gateway.pid" 15
}

# ---------------------------------------------------------------- commands

cmd_start() {
  stv_require_root
  mkdir -p "$HOME_DIR"
  exec 9>"$HOME_DIR/.lock"
  flock -n 9 || stv_die "another quickstart is running"
  install_packages
  check_node
  stv_require_cmds docker dockerd docker-registry curl jq flock
  install_npm
  build
  stv_registry_up "$HOME_DIR/registry" "$REGISTRY_ADDR"
  ensure_engine
  ensure_pki
  start_gateway
  echo
  echo "Stevedore is up. Point the docker CLI at it:"
  echo
  env_lines
  echo
  echo "(or: source $PKI_DIR/bundles/admin/env.sh)"
}

cmd_stop() {
  stv_require_root
  mkdir -p "$HOME_DIR"
  if stv_alive "$HOME_DIR/gateway-supervisor.pid" || stv_alive "$HOME_DIR/gateway.pid"; then
    stop_gateway
    stv_log "gateway: stopped"
  else
    rm -f "$HOME_DIR/gateway-supervisor.pid" "$HOME_DIR/gateway.pid"
    stv_log "gateway: not running"
  fi
  # Only a dockerd the quickstart started has this pidfile; any other engine is left alone.
  local own_engine=0
  stv_alive "$HOME_DIR/engine/dockerd.pid" && own_engine=1
  stop_one "engine (the dockerd the quickstart started)" "$HOME_DIR/engine/dockerd.pid" 30
  # The first node's overlays outlive the gateway (live-restore: its containers
  # keep running). With the engine the quickstart started stopped, no API is
  # left to reach those containers through (live-restore may keep their
  # processes until the engine's next start, which reconciles them), so the
  # overlays' links and our iptables chains go too. Another engine's
  # containers may still use them, so they stay with it.
  if ((own_engine)) && [[ -f $STV_REPO_ROOT/dist/src/cli/main.js ]]; then
    stv_log "first node's overlay data plane: $("${STEVEDORE[@]}" agent clean-host 2>&1 | tail -n 1)"
  fi
  stop_one registry "$HOME_DIR/registry/registry.pid" 10
}

stop_one() {
  if stv_alive "$2"; then
    stv_stop_pidfile "$2" "$3"
    stv_log "$1: stopped"
  else
    rm -f "$2"
    stv_log "$1: not running"
  fi
}

case ${1:-start} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
