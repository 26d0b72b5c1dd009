/**
 * What a provisioned host looks like, and the shell text we send it. Pure:
 * paths, quoting, the check script and its parser, the supervisor script, the
 * systemd unit. Everything here is unit-tested; nothing here does I/O.
 *
 *   /opt/stevedore/<version>/{stevedore.mjs,package.json,stevedore-runc,supervise.sh}   releases
 *   /opt/stevedore/current -> <version>                                  switched atomically
 *   /var/lib/stevedore-agent/{node.key,node.crt,ca.crt,state.json,agent.log}
 *   /run/stevedore/{supervisor.pid,agent.pid,agent.sock}
 */
export const HostPaths = {
  releases: '/opt/stevedore',
  current: '/opt/stevedore/current',
  state: '/var/lib/stevedore-agent',
  stateFile: '/var/lib/stevedore-agent/state.json',
  log: '/var/lib/stevedore-agent/agent.log',
  run: '/run/stevedore',
  supervisorPid: '/run/stevedore/supervisor.pid',
  agentPid: '/run/stevedore/agent.pid',
  agentSocket: '/run/stevedore/agent.sock',
  engineSocket: '/var/run/docker.sock',
  unit: '/etc/systemd/system/stevedore-agent.service',
} as const;

/**
 * The agent's Docker endpoint over TCP (mutual TLS with its node certificate,
 * manager and admin certificates only): how the gateway reaches this host's
 * engine for `docker service logs`, `docker exec`/`ps` on its tasks and merged
 * listings. Not 2376, which the host's own dockerd often serves.
 */
export const AgentDockerPort = 2378;

export const UnitName = 'stevedore-agent.service';
export const MinNodeMajor = 20;

/** Single-quotes a word for a POSIX shell. */
export function sh(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

export const releaseDir = (version: string): string => `${HostPaths.releases}/${version}`;

/** The agent's command line on the host, for the supervisor and the unit alike. */
export function agentCommand(nodePath: string): string {
  return [
    sh(nodePath),
    `${HostPaths.current}/stevedore.mjs`,
    'agent',
    '--engine', `unix://${HostPaths.engineSocket}`,
    '--state-dir', HostPaths.state,
    '--listen-docker', `unix://${HostPaths.agentSocket}`,
    '--listen-docker-tcp', `0.0.0.0:${AgentDockerPort}`,
  ].join(' ');
}

// ------------------------------------------------------------------ checks

/**
 * Prints `key=value` lines; run with `sh -s` (the script on stdin, so no
 * quoting games). Kernel features are tried in a throwaway network namespace
 * so the host's own links and rules are never touched.
 */
export const checkScript = String.raw`
say() { printf '%s=%s\n' "$1" "$2"; }
say uid "$(id -u)"
say hostname "$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
NODE=$(command -v node 2>/dev/null)
if [ -n "$NODE" ]; then say node "$("$NODE" -v 2>/dev/null)"; say nodepath "$NODE"; else say node missing; fi
if [ ! -S /var/run/docker.sock ]; then
  say engine "no socket at /var/run/docker.sock"
elif [ -n "$NODE" ]; then
  say engine "$("$NODE" -e '
    const q = require("http").get({ socketPath: "/var/run/docker.sock", path: "/version", timeout: 5000 }, (r) => {
      let b = ""; r.on("data", (c) => (b += c));
      r.on("end", () => { try { const v = JSON.parse(b); console.log("ok " + v.Version + " api " + v.ApiVersion); } catch { console.log("unexpected answer (HTTP " + r.statusCode + ")"); } });
    });
    q.on("timeout", () => { console.log("no answer within 5s"); process.exit(0); });
    q.on("error", (e) => console.log(e.code || e.message));' 2>&1 | head -n 1)"
else
  say engine unchecked
fi
if command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1; then
  say vxlan "$(unshare --net sh -c 'ip link add stvvxcheck type vxlan id 42 dstport 4789 && echo ok' 2>&1 | tail -n 1)"
elif [ -d /sys/module/vxlan ] || grep -qw '^vxlan' /proc/modules 2>/dev/null; then
  say vxlan ok
else
  say vxlan "no vxlan module loaded and no way to try one (need ip and unshare)"
fi
if ! command -v iptables >/dev/null 2>&1; then
  say iptables "iptables not found"
elif command -v unshare >/dev/null 2>&1; then
  say iptables "$(unshare --net sh -c 'iptables -w -S >/dev/null && echo ok' 2>&1 | tail -n 1)"
else
  say iptables "$(iptables -w -S >/dev/null 2>&1 && echo ok || echo 'iptables -S failed')"
fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then say supervisor systemd
elif command -v setsid >/dev/null 2>&1 && command -v nohup >/dev/null 2>&1; then say supervisor setsid
else say supervisor none; fi
command -v sha256sum >/dev/null 2>&1 && say sha256sum ok || say sha256sum missing
`;

export type SupervisorKind = 'systemd' | 'setsid';

export interface HostFacts {
  readonly hostname: string;
  readonly nodePath: string;
  readonly nodeVersion: string;
  readonly engine: string;
  readonly supervisor: SupervisorKind;
}

export interface CheckReport {
  readonly facts: HostFacts | undefined;
  /** Each names what is missing and what to do; empty when the host is fit. */
  readonly problems: readonly string[];
}

export function parseKeyValues(text: string): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) map.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return map;
}

export function evaluateChecks(output: string): CheckReport {
  const kv = parseKeyValues(output);
  const problems: string[] = [];
  const uid = kv.get('uid');
  if (uid !== '0') problems.push(`the SSH user must be root (uid ${uid ?? '?'}): the agent needs the engine socket, iptables and /opt`);
  const node = kv.get('node') ?? 'missing';
  const major = /^v(\d+)\./.exec(node)?.[1];
  if (node === 'missing' || major === undefined) problems.push(`Node.js >= ${MinNodeMajor} is needed and none was found on PATH`);
  else if (Number(major) < MinNodeMajor) problems.push(`Node.js >= ${MinNodeMajor} is needed; found ${node}`);
  const engine = kv.get('engine') ?? 'unchecked';
  if (!engine.startsWith('ok') && engine !== 'unchecked') problems.push(`no Docker engine answers at /var/run/docker.sock: ${engine}`);
  const vxlan = kv.get('vxlan') ?? 'not checked';
  if (vxlan !== 'ok') problems.push(`the kernel cannot make vxlan links (overlay networks need them): ${vxlan}`);
  const iptables = kv.get('iptables') ?? 'not checked';
  if (iptables !== 'ok') problems.push(`iptables does not work: ${iptables}`);
  const supervisor = kv.get('supervisor');
  if (supervisor !== 'systemd' && supervisor !== 'setsid') problems.push('neither systemd nor setsid+nohup is available to keep the agent running');
  if (kv.get('sha256sum') !== 'ok') problems.push('sha256sum is missing (coreutils)');
  if (problems.length > 0 || (supervisor !== 'systemd' && supervisor !== 'setsid')) return { facts: undefined, problems };
  return {
    facts: {
      hostname: kv.get('hostname') ?? '',
      nodePath: kv.get('nodepath') ?? 'node',
      nodeVersion: node,
      engine: engine.replace(/^ok /, ''),
      supervisor,
    },
    problems,
  };
}

// ------------------------------------------------------------------ supervision

/**
 * A restart loop for hosts without systemd: started with `setsid nohup`, it
 * outlives the SSH session, restarts the agent when it exits (1 s, doubling
 * to 30 s while it keeps failing fast) and stops it on TERM. Both PIDs are in
 * /run/stevedore so `node remove` (and the test bed's `down`) find them.
 */
export function supervisorScript(nodePath: string): string {
  return `#!/bin/sh
# Written by \`stevedore node add\`: keeps the Stevedore agent of this host running.
RUN=${HostPaths.run}
mkdir -p "$RUN"
echo $$ >"$RUN/supervisor.pid"
child= pause=
stop() {
  trap - TERM INT HUP
  [ -n "$pause" ] && kill "$pause" 2>/dev/null
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi
  rm -f "$RUN/agent.pid" "$RUN/supervisor.pid"
  echo "$(date -u +%FT%TZ) supervisor: stopped"
  exit 0
}
trap stop TERM INT HUP
# The first restart after a run comes at once (0.2 s): the manager holds a crashed agent's
# tasks for 2 s only. A crash loop backs off: 1, 2, 4 … 30 s.
delay=0.2
while :; do
  started=$(date +%s)
  ${agentCommand(nodePath)} &
  child=$!
  echo "$child" >"$RUN/agent.pid"
  wait "$child"
  code=$?
  child=
  rm -f "$RUN/agent.pid"
  if [ $(( $(date +%s) - started )) -ge 30 ]; then delay=0.2; fi
  echo "$(date -u +%FT%TZ) supervisor: the agent exited ($code); restarting in \${delay}s"
  sleep "$delay" &
  pause=$!
  wait "$pause"
  pause=
  case $delay in 0.2) delay=1 ;; *) delay=$((delay * 2)); [ "$delay" -gt 30 ] && delay=30 ;; esac
done
`;
}

export function systemdUnit(nodePath: string): string {
  return `# Written by \`stevedore node add\`.
[Unit]
Description=Stevedore agent
After=network-online.target docker.service
Wants=network-online.target

[Service]
ExecStart=${agentCommand(nodePath)}
Restart=always
# Back at once: the manager holds a crashed agent's tasks for 2 s only.
RestartSec=200ms
# Containers belong to the engine; stopping the agent must not touch them.
KillMode=process

[Install]
WantedBy=multi-user.target
`;
}

/** Is the agent (or its supervisor) running? Prints `running PID` or `stopped`. */
export function statusCommand(kind: SupervisorKind): string {
  if (kind === 'systemd') return `systemctl is-active --quiet ${UnitName} && echo "running $(systemctl show -p MainPID --value ${UnitName})" || echo stopped`;
  return `p=$(cat ${HostPaths.supervisorPid} 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "running $p" || echo stopped`;
}

/**
 * Starts the supervisor (or the unit); a no-op when it already runs. Prints
 * `started agent PID` or `running agent PID`. One round trip: each SSH exec
 * costs a shell start on the host.
 */
export function startCommand(kind: SupervisorKind): string {
  if (kind === 'systemd') {
    return `if systemctl is-active --quiet ${UnitName}; then w=running; else w=started; systemctl daemon-reload && systemctl enable --now ${UnitName} || exit 1; fi; echo "$w agent $(systemctl show -p MainPID --value ${UnitName})"`;
  }
  return [
    `mkdir -p ${HostPaths.run} ${HostPaths.state}`,
    'w=running',
    `if ! { p=$(cat ${HostPaths.supervisorPid} 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }; then`,
    '  w=started',
    `  setsid nohup /bin/sh ${HostPaths.current}/supervise.sh </dev/null >>${HostPaths.log} 2>&1 &`,
    'fi',
    // Wait for the agent's PID so the caller knows it was started.
    `for i in $(seq 1 50); do a=$(cat ${HostPaths.agentPid} 2>/dev/null) && [ -n "$a" ] && kill -0 "$a" 2>/dev/null && { echo "$w agent $a"; exit 0; }; sleep 0.1; done`,
    `echo "the agent did not start; see ${HostPaths.log}:" >&2; tail -n 20 ${HostPaths.log} >&2; exit 1`,
  ].join('\n');
}

/** Stops the supervisor and the agent (TERM, then KILL after 15 s); containers keep running. */
export function stopCommand(kind: SupervisorKind): string {
  if (kind === 'systemd') return `systemctl stop ${UnitName} 2>/dev/null; true`;
  return [
    `for f in ${HostPaths.supervisorPid} ${HostPaths.agentPid}; do`,
    '  p=$(cat "$f" 2>/dev/null) || continue',
    '  [ -n "$p" ] && kill -TERM "$p" 2>/dev/null',
    '  for i in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done',
    '  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null',
    'done',
    `rm -f ${HostPaths.supervisorPid} ${HostPaths.agentPid}`,
  ].join('\n');
}

/** Switches `current` to a release with a rename, so there is never a moment without one. */
export function switchCurrentCommand(version: string): string {
  const tmp = `${HostPaths.current}.new`;
  return `ln -sfn ${sh(version)} ${tmp} && mv -Tf ${tmp} ${HostPaths.current}`;
}

/** Keeps the given releases (the current one and the one before it); older ones go. */
export function pruneReleasesCommand(keep: readonly string[]): string {
  const keepers = ['current', 'current.new', ...keep].map((v) => `-e ${sh(v)}`).join(' ');
  return `cd ${HostPaths.releases} && ls -1 | grep -v -x -F ${keepers} | while read -r d; do rm -rf -- "$d"; done; true`;
}
