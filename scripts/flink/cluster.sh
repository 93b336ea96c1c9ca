#!/usr/bin/env bash
# cluster.sh — a Flink session cluster on this machine as separate JVMs (one
# JobManager, two TaskManagers, each with its own configuration directory),
# plus Beam's Flink job server submitting to it, for running flavabeam's jobs
# on a real distributed Flink rather than the job server's embedded one.
#
# Usage: scripts/flink/cluster.sh start|stop|status|kill-tm N|start-tm N|env
#
#   start      resolve the jars (cached), write the configs, start the
#              JobManager, wait for its REST API, start both TaskManagers,
#              wait until both registered, start the job server, print its
#              endpoint
#   stop       stop the job server, TaskManagers and JobManager (SIGTERM; SIGKILL
#              after 30 s each); keeps the state directory (logs, checkpoints)
#   status     exit 0 if the JobManager answers and lists its TaskManagers
#   kill-tm N  SIGKILL TaskManager N (1 or 2): a crash, for failure tests
#   start-tm N start TaskManager N again (as a supervisor would after a crash)
#   env        print the addresses and the SDK worker boot command as
#              `export` lines for eval
#
# Versions: Flink 1.16.0 with Beam 2.50.0's Flink runner (Java side; the Go SDK
# worker stays at go.mod's v2.77.0 and talks to it over the portable job API).
# Why those: Flink's distribution (flink-dist) is not served on the network this
# project is built on, and Beam's shaded job-server jars are not served either
# (see RESULT.md). The newest Beam Flink runner that Maven does serve here with
# all its dependencies is org.apache.beam:beam-runners-flink-1.16:2.50.0; it
# pins Flink 1.16.0, whose flink-runtime holds both cluster entry points
# (StandaloneSessionClusterEntrypoint, TaskManagerRunner). A runner and its
# cluster must share a Flink minor version, so the cluster is 1.16.0 too.
#
# Needs: a JDK 17 (java, javac, jar; Flink 1.16 runs on it with the --add-opens below), Go, Maven,
# network access to Maven Central on first use (~150 MB, cached).
#
# Environment (all optional):
#   FLAVABEAM_FLINK_STATE       config dirs, logs, pids, checkpoints
#                               (default ${TMPDIR:-/tmp}/flavabeam-flink-cluster)
#   FLAVABEAM_FLINK_CACHE       jar class path cache (default $HOME/.cache/flavabeam/flink)
#   FLAVABEAM_FLINK_REST_PORT   JobManager REST port (default 8081)
#   FLAVABEAM_FLINK_RPC_PORT    JobManager RPC port (default 6123)
#   FLAVABEAM_FLINK_PORT        job server port (default 8099; artifact = -1, expansion = -2)
#   FLAVABEAM_FLINK_SLOTS       task slots per TaskManager (default 1, so a
#                               parallelism-2 job must use both TaskManagers)
#   FLAVABEAM_FLINK_TM_MEMORY   taskmanager.memory.process.size (default 1280m)
#   FLAVABEAM_FLINK_JM_MEMORY   jobmanager.memory.process.size (default 768m)
#   FLAVABEAM_FLINK_TIMEOUT     seconds to wait for each process (default 180)
#   FLAVABEAM_FLINK_CHECKPOINT_MS  checkpoint interval of streaming jobs, ms (default 10000)
#
# Memory: JobManager 768 MB, each TaskManager 1.25 GB, job server 512 MB heap; the
# TaskManagers only move bytes between Beam's Go SDK workers, which run outside
# them (LOOPBACK: in the submitting flavabeam process; PROCESS: one per
# TaskManager) and hold the model.
set -euo pipefail
cd "$(dirname "$0")/../.."

BEAM_ARTIFACT="org.apache.beam:beam-runners-flink-1.16:2.50.0"
FLINK_VERSION="1.16.0"
BEAM_JAVA_VERSION="2.50.0"
LOG4J_VERSION="2.24.3"
STATE="${FLAVABEAM_FLINK_STATE:-${TMPDIR:-/tmp}/flavabeam-flink-cluster}"
CACHE="${FLAVABEAM_FLINK_CACHE:-${HOME:-/root}/.cache/flavabeam/flink}"
REST_PORT="${FLAVABEAM_FLINK_REST_PORT:-8081}"
RPC_PORT="${FLAVABEAM_FLINK_RPC_PORT:-6123}"
JS_PORT="${FLAVABEAM_FLINK_PORT:-8099}"
SLOTS="${FLAVABEAM_FLINK_SLOTS:-1}"
TM_MEMORY="${FLAVABEAM_FLINK_TM_MEMORY:-1280m}"
JM_MEMORY="${FLAVABEAM_FLINK_JM_MEMORY:-768m}"
TIMEOUT="${FLAVABEAM_FLINK_TIMEOUT:-180}"
CHECKPOINT_MS="${FLAVABEAM_FLINK_CHECKPOINT_MS:-10000}"
NUM_TM=2

say() { echo "cluster.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Java 17 closes the JDK internals Flink 1.16 (its RPC layer, Kryo) reach into.
JAVA_OPENS=(
	--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
	--add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
	--add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
	--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
	--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/java.text=ALL-UNNAMED
	--add-opens=java.base/java.time=ALL-UNNAMED --add-opens=java.base/java.math=ALL-UNNAMED
	--add-opens=java.rmi/sun.rmi.transport=ALL-UNNAMED --add-opens=java.sql/java.sql=ALL-UNNAMED
	--add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
	--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
)

# classpath resolves the Beam Flink runner (which pulls flink-runtime,
# flink-clients, flink-streaming-java, ... 1.16.0) plus a log4j2 backend for
# Flink's slf4j logging, once, and prints the class path. A Maven failure is
# reported with the artifact it could not get.
classpath() {
	local dir="$CACHE/cluster-beam-${BEAM_JAVA_VERSION}-flink-${FLINK_VERSION}"
	if [[ ! -s "$dir/classpath.txt" ]]; then
		command -v mvn >/dev/null 2>&1 || die "mvn not found: install Apache Maven (apt-get install maven)"
		mkdir -p "$dir"
		local g="${BEAM_ARTIFACT%%:*}" rest="${BEAM_ARTIFACT#*:}"
		cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.flavabeam</groupId><artifactId>flink-cluster</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>$g</groupId><artifactId>${rest%%:*}</artifactId><version>${rest#*:}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>${LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
POM
		say "resolving $BEAM_ARTIFACT (Flink $FLINK_VERSION) and its dependencies with Maven (first run only)"
		if ! (cd "$dir" && mvn -q -B dependency:build-classpath -Dmdep.outputFile=cp.txt >mvn.log 2>&1); then
			say "FAILED: Maven could not resolve $BEAM_ARTIFACT with its dependencies:"
			grep -m3 -o 'Could not find artifact[^ ]* [^ ]*\|Could not resolve[^:]*: [^ ]*\|Could not transfer[^.]*' "$dir/mvn.log" >&2 || tail -n 5 "$dir/mvn.log" >&2
			exit 1
		fi
		tr ':' '\n' <"$dir/cp.txt" | grep -q "/flink-runtime-${FLINK_VERSION}.jar$" ||
			die "FAILED: flink-runtime-${FLINK_VERSION}.jar is not on $BEAM_ARTIFACT's class path"
		mv "$dir/cp.txt" "$dir/classpath.txt"
	fi
	cat "$dir/classpath.txt"
}

java_bin() {
	if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then echo "$JAVA_HOME/bin/java"; else command -v java || die "java not found"; fi
}

# write_conf DIR [KEY VALUE]...: a Flink configuration directory shared
# settings first, then the process's own.
write_conf() {
	local dir="$1"
	shift
	mkdir -p "$dir"
	cat >"$dir/flink-conf.yaml" <<EOF
# written by scripts/flink/cluster.sh
jobmanager.rpc.address: localhost
jobmanager.rpc.port: ${RPC_PORT}
jobmanager.bind-host: localhost
jobmanager.memory.process.size: ${JM_MEMORY}
rest.address: localhost
rest.bind-address: localhost
rest.port: ${REST_PORT}
taskmanager.host: localhost
taskmanager.bind-host: localhost
taskmanager.numberOfTaskSlots: ${SLOTS}
taskmanager.memory.process.size: ${TM_MEMORY}
taskmanager.memory.managed.size: 128m
# Beam's artifact and data services (vendored gRPC/Netty) allocate direct
# buffers: serving the 228 MB Go worker binary to a PROCESS worker exceeded
# the default direct-memory cap (~200 MB) with 2 MB chunks.
taskmanager.memory.task.off-heap.size: 256m
taskmanager.memory.jvm-metaspace.size: 192m
parallelism.default: 2
cluster.evenly-spread-out-slots: true
blob.server.port: 0
taskmanager.rpc.port: 0
taskmanager.data.port: 0
# A killed TaskManager is noticed at once (its connections reset, its RPC
# endpoint refuses them), so heartbeats only catch hung processes: keep
# Flink's 50 s timeout. 10 s made a loaded 2-core machine drop live
# TaskManagers (GC and CPU starvation) and restart the job needlessly.
heartbeat.interval: 5000
heartbeat.timeout: 50000
restart-strategy: fixed-delay
restart-strategy.fixed-delay.attempts: 20
restart-strategy.fixed-delay.delay: 5 s
state.backend: hashmap
state.checkpoints.dir: file://${STATE}/checkpoints
state.savepoints.dir: file://${STATE}/savepoints
# Streaming jobs: a checkpoint every FLAVABEAM_FLINK_CHECKPOINT_MS. What
# turns it on for a Beam job is the job server's default pipeline option
# checkpointing_interval (see start_js); this line keeps the cluster's own
# configuration saying the same. Batch jobs ignore both.
execution.checkpointing.interval: ${CHECKPOINT_MS} ms
execution.checkpointing.mode: EXACTLY_ONCE
execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION
classloader.check-leaked-classloader: false
# The job server stages its whole class path (Beam 2.50 and Flink jars) with
# every job, and every process here already has the same jars: parent-first
# loads each class once, from the application class path. Child-first (Flink's
# default) splits Beam's vendored gRPC across two loaders, and the SDK
# harness connections fail with IllegalAccessError / LinkageError.
classloader.resolve-order: parent-first
EOF
	while (($# >= 2)); do
		echo "$1: $2" >>"$dir/flink-conf.yaml"
		shift 2
	done
	cat >"$dir/log4j.properties" <<'EOF'
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FileAppender
appender.file.name = FileAppender
appender.file.type = File
appender.file.fileName = ${sys:log.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.akka.name = akka
logger.akka.level = WARN
logger.netty.name = org.apache.flink.shaded.akka.org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = ERROR
EOF
}

pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

rest() { curl -fsS --max-time 5 "http://localhost:${REST_PORT}$1"; }

# bash_java_utils CMD CONFDIR: Flink's own memory calculation (what
# bin/jobmanager.sh and bin/taskmanager.sh run): prints the JVM flags, then
# the dynamic properties, each on a line.
bash_java_utils() {
	local out
	out="$("$(java_bin)" -cp "$CP" org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir "$2" 2>&1)" ||
		die "BashJavaUtils $1 failed: $out"
	grep '^BASH_JAVA_UTILS_EXEC_RESULT:' <<<"$out" | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://'
}

start_jm() {
	local conf="$STATE/jobmanager/conf" log="$STATE/jobmanager/jobmanager.log"
	pid_alive "$STATE/jobmanager.pid" && die "a JobManager is already running (pid $(cat "$STATE/jobmanager.pid")); run stop first"
	write_conf "$conf"
	local params
	mapfile -t params < <(bash_java_utils GET_JM_RESOURCE_PARAMS "$conf")
	# shellcheck disable=SC2086
	nohup "$(java_bin)" ${params[0]} "${JAVA_OPENS[@]}" -Dlog.file="$log" \
		-Dlog4j.configurationFile="file:$conf/log4j.properties" -cp "$CP" \
		org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint \
		--configDir "$conf" --executionMode cluster ${params[1]:-} \
		>"$STATE/jobmanager/jobmanager.out" 2>&1 </dev/null &
	echo $! >"$STATE/jobmanager.pid"
	say "JobManager started (pid $!), REST on http://localhost:${REST_PORT}, log $log"
	for i in $(seq 1 "$TIMEOUT"); do
		rest /overview >/dev/null 2>&1 && return 0
		pid_alive "$STATE/jobmanager.pid" || { tail -n 30 "$STATE/jobmanager/jobmanager.out" "$log" >&2 2>/dev/null; die "FAILED: the JobManager exited during start"; }
		sleep 1
	done
	die "FAILED: the JobManager REST API did not answer within ${TIMEOUT}s (log $log)"
}

start_tm() {
	local n="$1" dir="$STATE/taskmanager-$1"
	local conf="$dir/conf" log="$dir/taskmanager.log"
	pid_alive "$STATE/taskmanager-$n.pid" && die "TaskManager $n is already running (pid $(cat "$STATE/taskmanager-$n.pid"))"
	write_conf "$conf" taskmanager.resource-id "flavabeam-tm-$n" io.tmp.dirs "$dir/tmp"
	mkdir -p "$dir/tmp"
	local params
	mapfile -t params < <(bash_java_utils GET_TM_RESOURCE_PARAMS "$conf")
	# The working directory is the TaskManager's own: the SDK workers it
	# starts inherit it (the Go boot writes pipeline_options.json there).
	# shellcheck disable=SC2086
	(cd "$dir" && exec nohup "$(java_bin)" ${params[0]} "${JAVA_OPENS[@]}" -Dlog.file="$log" \
		-Dlog4j.configurationFile="file:$conf/log4j.properties" -cp "$CP" \
		org.apache.flink.runtime.taskexecutor.TaskManagerRunner \
		--configDir "$conf" ${params[1]:-} \
		>"$dir/taskmanager.out" 2>&1 </dev/null) &
	echo $! >"$STATE/taskmanager-$n.pid"
	say "TaskManager $n started (pid $!, resource id flavabeam-tm-$n), log $log"
}

# wait_tms N: wait until N TaskManagers are registered with the JobManager.
wait_tms() {
	local want="$1" got=0
	for _ in $(seq 1 "$TIMEOUT"); do
		got="$(rest /taskmanagers 2>/dev/null | grep -o '"id":"[^"]*"' | wc -l || true)"
		[[ "$got" -ge "$want" ]] && { say "$got TaskManager(s) registered"; return 0; }
		sleep 1
	done
	die "FAILED: $got of $want TaskManagers registered after ${TIMEOUT}s (logs under $STATE)"
}

start_js() {
	local log="$STATE/jobserver/jobserver.log"
	mkdir -p "$STATE/jobserver"
	pid_alive "$STATE/jobserver.pid" && die "a job server is already running (pid $(cat "$STATE/jobserver.pid"))"
	# FlavabeamFlinkJobServer is FlinkJobServerDriver with default pipeline
	# options (the Go SDK cannot send Flink runner options): checkpointing
	# for streaming jobs. --flink-conf-dir: the job server's Flink client
	# reads the checkpoint directory and restart strategy from the same
	# configuration.
	# A jar, not a class directory: the job server stages its class path
	# with every job, and Beam's staging fails on a directory.
	local classes="$STATE/jobserver/classes" jar="$STATE/jobserver/flavabeam-flink-job-server.jar"
	rm -rf "$classes" "$jar"
	mkdir -p "$classes"
	javac -nowarn -d "$classes" -cp "$CP" scripts/flink/jobserver/FlavabeamFlinkJobServer.java &&
		jar cf "$jar" -C "$classes" . ||
		die "FAILED: could not build scripts/flink/jobserver/FlavabeamFlinkJobServer.java (needs a JDK 17: javac, jar)"
	nohup "$(java_bin)" -Xmx512m "${JAVA_OPENS[@]}" -Dlog.file="$log" \
		-Dlog4j.configurationFile="file:$STATE/jobmanager/conf/log4j.properties" -cp "$jar:$CP" \
		-Dflavabeam.option.checkpointing_interval="$CHECKPOINT_MS" \
		FlavabeamFlinkJobServer \
		--flink-master="localhost:${REST_PORT}" --flink-conf-dir="$STATE/jobmanager/conf" \
		--artifacts-dir "$STATE/jobserver/artifacts" \
		--job-port "$JS_PORT" --artifact-port "$((JS_PORT - 1))" --expansion-port "$((JS_PORT - 2))" \
		>"$STATE/jobserver/jobserver.out" 2>&1 </dev/null &
	echo $! >"$STATE/jobserver.pid"
	say "Beam job server started (pid $!), job endpoint localhost:${JS_PORT}, log $log"
	for _ in $(seq 1 "$TIMEOUT"); do
		(exec 3<>"/dev/tcp/127.0.0.1/$JS_PORT") 2>/dev/null && return 0
		pid_alive "$STATE/jobserver.pid" || { tail -n 30 "$STATE/jobserver/jobserver.out" >&2; die "FAILED: the job server exited during start"; }
		sleep 1
	done
	die "FAILED: the job server did not listen on ${JS_PORT} within ${TIMEOUT}s"
}

# stop_pid NAME PIDFILE: SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
	local name="$1" pf="$2" pid
	[[ -s "$pf" ]] || return 0
	pid="$(cat "$pf")"
	if kill -0 "$pid" 2>/dev/null; then
		say "stopping $name (pid $pid)"
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
		if kill -0 "$pid" 2>/dev/null; then
			say "$name did not stop in 30 s: SIGKILL"
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pf"
}

# build_boot builds the Beam Go SDK's worker boot program (the SDK
# container's entry point, package github.com/apache/beam/sdks/v2/go/container
# at go.mod's version) and a wrapper that gives each worker its own
# semi-persistent directory: a TaskManager starts it once per SDK worker
# (--environment_type=PROCESS); it fetches the staged flavabeam worker binary
# from the TaskManager's artifact service and runs it.
build_boot() {
	mkdir -p "$STATE/bin" "$STATE/workers"
	CGO_ENABLED=0 go build -o "$STATE/bin/boot" github.com/apache/beam/sdks/v2/go/container ||
		die "FAILED: could not build the Beam Go SDK boot program"
	cat >"$STATE/bin/worker-boot.sh" <<BOOT
#!/bin/sh
# written by scripts/flink/cluster.sh: one Beam Go SDK worker, started by a TaskManager
dir=\$(mktemp -d "$STATE/workers/XXXXXX") || exit 1
exec "$STATE/bin/boot" --semi_persist_dir="\$dir" "\$@"
BOOT
	chmod +x "$STATE/bin/worker-boot.sh"
}

stop() {
	stop_pid "the job server" "$STATE/jobserver.pid"
	for n in $(seq 1 "$NUM_TM"); do stop_pid "TaskManager $n" "$STATE/taskmanager-$n.pid"; done
	stop_pid "the JobManager" "$STATE/jobmanager.pid"
	stop_workers
	clean_disk
}

# stop_workers ends the Go SDK worker processes the TaskManagers started
# (PROCESS environment): Beam's boot program execs them detached, so they
# outlive their TaskManager and would idle (~70 MB each) until the machine
# stops. They are found by the worker directory under $STATE on their
# command line.
stop_workers() {
	local pids
	pids="$(pgrep -f -- "--semi_persist_dir=$STATE/workers/" || true)"
	[[ -n "$pids" ]] || return 0
	say "stopping $(echo "$pids" | wc -l) SDK worker process(es)"
	kill $pids 2>/dev/null || true
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		pgrep -f -- "--semi_persist_dir=$STATE/workers/" >/dev/null || return 0
		sleep 1
	done
	pkill -9 -f -- "--semi_persist_dir=$STATE/workers/" 2>/dev/null || true
}

# clean_disk deletes what the jobs left on disk, once nothing runs: every
# job stages the job server's class path (~150 MB) into each TaskManager's
# blob cache and the worker binary (~220 MB) into each SDK worker's
# directory, and Beam's Go boot copies that binary again to
# /tmp/bin<random>/worker (a path it hard-codes) for every worker it starts:
# gigabytes after a few dozen jobs. The job server keeps each job's staged
# artifacts (the worker binary) in its --artifacts-dir too.
clean_disk() {
	rm -rf "$STATE/workers" "$STATE"/taskmanager-*/tmp "$STATE/jobserver/artifacts"
	local d
	for d in /tmp/bin*; do
		# Only Beam boot's copies: a directory holding nothing but "worker".
		[[ -d "$d" && "$(ls -A "$d")" == worker ]] && rm -rf "$d"
	done
	return 0
}

status() {
	local ov
	ov="$(rest /overview 2>/dev/null)" || { say "no JobManager answers on http://localhost:${REST_PORT}"; return 1; }
	echo "JobManager http://localhost:${REST_PORT}: $ov"
	rest /taskmanagers | grep -o '"id":"[^"]*"' | sed 's/^/  TaskManager /'
	if pid_alive "$STATE/jobserver.pid"; then echo "job server: localhost:${JS_PORT} (pid $(cat "$STATE/jobserver.pid"))"; else echo "job server: not running"; fi
}

case "${1:-}" in
start)
	mkdir -p "$STATE"
	CP="$(classpath)"
	build_boot
	say "Flink $FLINK_VERSION session cluster (Beam $BEAM_JAVA_VERSION Flink runner), state in $STATE"
	ready=0
	trap '[[ $ready == 1 ]] || { say "start failed: stopping what started"; stop; }' EXIT
	start_jm
	for n in $(seq 1 "$NUM_TM"); do start_tm "$n"; done
	wait_tms "$NUM_TM"
	start_js
	ready=1
	say "ready: submit with --runner=flink --endpoint=localhost:${JS_PORT} (Flink UI/REST http://localhost:${REST_PORT})"
	echo "localhost:${JS_PORT}"
	;;
stop) stop ;;
status) status ;;
kill-tm)
	[[ "${2:-}" =~ ^[1-9]$ ]] || die "usage: cluster.sh kill-tm N"
	pid_alive "$STATE/taskmanager-$2.pid" || die "TaskManager $2 is not running"
	say "SIGKILL TaskManager $2 (pid $(cat "$STATE/taskmanager-$2.pid"))"
	kill -9 "$(cat "$STATE/taskmanager-$2.pid")"
	;;
start-tm)
	[[ "${2:-}" =~ ^[1-9]$ ]] || die "usage: cluster.sh start-tm N"
	CP="$(classpath)"
	start_tm "$2" # refuses when that TaskManager still runs
	;;
env)
	echo "export FLAVABEAM_FLINK_ENDPOINT=localhost:${JS_PORT}"
	echo "export FLAVABEAM_FLINK_REST=http://localhost:${REST_PORT}"
	echo "export FLAVABEAM_FLINK_WORKER_BOOT=$STATE/bin/worker-boot.sh"
	;;
*)
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
