#!/bin/bash
# supervise.sh CHILD_PIDFILE NAME CMD...: keeps CMD running, as `node add`'s
# supervisor keeps a host's agent running where systemd does not: a CMD that
# exits (a crash, kill -9) is started again after a pause (0.2 s after a run
# of 30 s or more; then 1, 2, 4 … 30 s while it keeps failing sooner). SIGTERM/SIGINT stop
# CMD with SIGTERM, wait for it, and end the loop. CHILD_PIDFILE holds CMD's
# PID while it runs; run this under stv_spawn so its own PID is recorded too.
set -u
pidfile=$1 name=$2
shift 2
child='' pause=''
stop() {
  trap - TERM INT HUP
  [[ -n $pause ]] && kill "$pause" 2>/dev/null
  if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi
  rm -f "$pidfile"
  echo "$(date -u +%FT%TZ) supervisor: $name stopped"
  exit 0
}
trap stop TERM INT HUP
delay=0.2
while :; do
  started=$(date +%s)
  "$@" &
  child=$!
  echo "$child" >"$pidfile"
  wait "$child"
  code=$?
  child=''
  rm -f "$pidfile"
  if (($(date +%s) - started >= 30)); then delay=0.2; fi
  echo "$(date -u +%FT%TZ) supervisor: $name exited ($code); starting it again in ${delay}s"
  sleep "$delay" &
  pause=$!
  wait "$pause"
  pause=''
  if [[ $delay == 0.2 ]]; then delay=1; else delay=$((delay * 2 > 30 ? 30 : delay * 2)); fi
done
