#!/usr/bin/env bash
# kafka.sh — a real single-node Apache Kafka broker (KRaft: broker + controller in
# one JVM, no ZooKeeper, no Docker) on 127.0.0.1, for flavabeam's tests and CI.
#
# Usage: scripts/kafka/kafka.sh start|stop|restart|status|reset|fetch|env
#
#   fetch    download the Kafka jars from Maven Central into the cache (idempotent)
#   start    fetch, format storage on first use, start the broker, wait until it
#            answers a Metadata request listing itself, print the bootstrap address
#   stop     stop the broker (SIGTERM, clean shutdown; SIGKILL after 60 s); keeps data
#   restart  stop then start (same data: records written before survive)
#   status   exit 0 and print the bootstrap address if the broker answers, else exit 1
#   reset    stop and delete the state directory (data, logs, config)
#   env      print `export FLAVABEAM_KAFKA_BROKERS=...` for eval
#
# Needs: bash, Java 17+ on PATH (or JAVA_HOME), Maven (installed with apt-get when
# missing and running as root), and network access to Maven Central on first use.
#
# Environment (all optional):
#   FLAVABEAM_KAFKA_VERSION          Kafka version from Maven Central   (default 4.1.1)
#   FLAVABEAM_KAFKA_PORT             client (PLAINTEXT) port             (default 9092)
#   FLAVABEAM_KAFKA_CONTROLLER_PORT  KRaft controller port               (default 9093)
#   FLAVABEAM_KAFKA_CACHE            jar cache      (default $HOME/.cache/flavabeam/kafka-<version>)
#   FLAVABEAM_KAFKA_STATE            config, data, pid file and log
#                                    (default ${TMPDIR:-/tmp}/flavabeam-kafka-<port>)
#   FLAVABEAM_KAFKA_PARTITIONS       partitions of auto-created topics   (default 4)
#   FLAVABEAM_KAFKA_HEAP             JVM heap flags                      (default -Xms256m -Xmx768m)
#   FLAVABEAM_KAFKA_START_TIMEOUT    seconds to wait for readiness       (default 90)
#
# Topics are auto-created on first produce/metadata request
# (auto.create.topics.enable=true) so pipelines under test can write to a new topic;
# tests that need a given partition count create their topics explicitly.
# The broker listens on 127.0.0.1 only.
set -euo pipefail

VERSION="${FLAVABEAM_KAFKA_VERSION:-4.1.1}"
PORT="${FLAVABEAM_KAFKA_PORT:-9092}"
CPORT="${FLAVABEAM_KAFKA_CONTROLLER_PORT:-9093}"
CACHE="${FLAVABEAM_KAFKA_CACHE:-${HOME:-/root}/.cache/flavabeam/kafka-${VERSION}}"
STATE="${FLAVABEAM_KAFKA_STATE:-${TMPDIR:-/tmp}/flavabeam-kafka-${PORT}}"
PARTITIONS="${FLAVABEAM_KAFKA_PARTITIONS:-4}"
HEAP="${FLAVABEAM_KAFKA_HEAP:--Xms256m -Xmx768m}"
START_TIMEOUT="${FLAVABEAM_KAFKA_START_TIMEOUT:-90}"
LOG4J_VERSION="2.24.3"

PIDFILE="$STATE/kafka.pid"
LOGFILE="$STATE/kafka.log"

say() { echo "kafka.sh: $*" >&2; }
die() { say "$*"; exit 1; }

java_bin() {
	if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
		echo "$JAVA_HOME/bin/java"
	elif command -v java >/dev/null 2>&1; then
		command -v java
	else
		die "java not found: install a Java 17+ runtime (apt-get install openjdk-17-jre-headless)"
	fi
}

check_java() {
	local j v
	j="$(java_bin)"
	v="$("$j" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
	v="${v%%.*}"
	[[ "$v" =~ ^[0-9]+$ && "$v" -ge 17 ]] || die "Java 17+ needed, found '$("$j" -version 2>&1 | head -1)'"
}

ensure_maven() {
	command -v mvn >/dev/null 2>&1 && return 0
	if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		say "mvn not found: installing maven with apt-get"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven >&2
	fi
	command -v mvn >/dev/null 2>&1 || die "mvn not found and could not be installed: install Apache Maven"
}

# fetch resolves org.apache.kafka:kafka_2.13 and its runtime dependencies (server,
# clients, metadata, raft, storage, coordinators, ...) plus a log4j2 backend into
# $CACHE/libs. A marker file makes it idempotent; a partial download is redone.
fetch() {
	[[ -f "$CACHE/.complete" ]] && return 0
	check_java
	ensure_maven
	mkdir -p "$CACHE"
	rm -rf "$CACHE/libs" "$CACHE/.complete"
	cat >"$CACHE/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>flavabeam</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>${LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
EOF
	say "downloading Kafka ${VERSION} jars from Maven Central into $CACHE/libs"
	mvn -B -q -f "$CACHE/pom.xml" \
		org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$CACHE/libs" >&2 ||
		die "maven could not fetch org.apache.kafka:kafka_2.13:${VERSION}"
	ls "$CACHE/libs"/kafka_2.13-*.jar >/dev/null 2>&1 || die "kafka_2.13 jar missing after download"
	touch "$CACHE/.complete"
}

write_config() {
	mkdir -p "$STATE/data"
	cat >"$STATE/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${CPORT}
listeners=PLAINTEXT://127.0.0.1:${PORT},CONTROLLER://127.0.0.1:${CPORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${STATE}/data
num.partitions=${PARTITIONS}
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.flush.interval.messages=9223372036854775807
log.retention.hours=24
message.max.bytes=10485760
replica.fetch.max.bytes=10485760
EOF
	cat >"$STATE/log4j2.properties" <<EOF
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
EOF
}

jrun() {
	# shellcheck disable=SC2086
	"$(java_bin)" $HEAP -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$STATE/log4j2.properties" \
		-cp "$CACHE/libs/*" "$@"
}

format_storage() {
	[[ -f "$STATE/data/meta.properties" ]] && return 0
	local id
	# A KRaft cluster id is 16 random bytes in unpadded URL-safe base64 (22
	# chars). The storage tool reads one starting with '-' as an option and
	# the format fails (seen in a test run); Kafka's own Uuid never starts
	# with '-'.
	id=-
	while [[ "$id" == -* ]]; do
		id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
	done
	say "formatting $STATE/data (cluster id $id)"
	jrun kafka.tools.StorageTool format -t "$id" -c "$STATE/server.properties" --ignore-formatted >>"$LOGFILE" 2>&1 ||
		die "storage format failed; see $LOGFILE"
}

running_pid() {
	[[ -f "$PIDFILE" ]] || return 1
	local pid
	pid="$(cat "$PIDFILE")"
	[[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	# A stale pid file may name a pid reused by an unrelated process: only
	# claim a JVM running kafka.Kafka with this state directory's config.
	if [[ -r "/proc/$pid/cmdline" ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $STATE/server.properties"; then
		return 1
	fi
	echo "$pid"
}

# probe sends a Kafka Metadata v4 request (all topics, no auto-creation) over
# bash's /dev/tcp and succeeds when the response lists at least one broker, which
# a KRaft node does only once it has registered with its controller and is serving.
probe() {
	local out
	out="$(
		timeout 3 bash -c '
			exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
			# size=18 | api_key=3 api_version=4 correlation_id=7 client_id="fbk" topics=null allow_auto=false
			printf "\x00\x00\x00\x12\x00\x03\x00\x04\x00\x00\x00\x07\x00\x03fbk\xff\xff\xff\xff\x00" >&3
			head -c 16 <&3 | od -An -tx1 | tr -d " \n"
		' _ "$PORT" 2>/dev/null
	)" || return 1
	# size(4) correlation_id(4)=7 throttle_ms(4) broker_count(4)
	[[ ${#out} -eq 32 && "${out:8:8}" == "00000007" ]] || return 1
	local n=$((16#${out:24:8}))
	((n >= 1 && n < 1000))
}

start() {
	local pid
	if pid="$(running_pid)"; then
		probe && { echo "127.0.0.1:${PORT}"; return 0; }
		say "broker process $(cat "$PIDFILE") exists but does not answer yet; waiting"
	else
		fetch
		check_java
		mkdir -p "$STATE"
		write_config
		format_storage
		if probe; then
			die "something else already answers on 127.0.0.1:${PORT}"
		fi
		say "starting Kafka ${VERSION} on 127.0.0.1:${PORT} (controller ${CPORT}), state in $STATE"
		nohup "$(java_bin)" $HEAP -XX:+UseG1GC -Djava.awt.headless=true \
			-Dlog4j2.configurationFile="$STATE/log4j2.properties" \
			-cp "$CACHE/libs/*" kafka.Kafka "$STATE/server.properties" \
			>>"$LOGFILE" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$PIDFILE"
	fi
	local deadline=$((SECONDS + START_TIMEOUT))
	while ((SECONDS < deadline)); do
		# The pid is the one just started (or checked by running_pid above):
		# only ask whether it is alive. running_pid's command-line check
		# would fail until the background subshell has exec'd the JVM, and
		# on a busy machine that is how a healthy start was reported as
		# "exited during start" with an empty log.
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 40 "$LOGFILE" >&2 || true
			die "broker exited during start; log: $LOGFILE"
		fi
		if probe; then
			say "ready"
			echo "127.0.0.1:${PORT}"
			return 0
		fi
		sleep 0.5
	done
	tail -n 40 "$LOGFILE" >&2 || true
	die "broker did not become ready within ${START_TIMEOUT}s; log: $LOGFILE"
}

stop() {
	local pid
	if ! pid="$(running_pid)"; then
		rm -f "$PIDFILE"
		say "not running"
		return 0
	fi
	kill -TERM "$pid"
	local i
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "broker $pid did not stop in 60 s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$PIDFILE"
	say "stopped"
}

status() {
	if running_pid >/dev/null && probe; then
		echo "127.0.0.1:${PORT}"
		return 0
	fi
	say "not running on 127.0.0.1:${PORT}"
	return 1
}

case "${1:-}" in
fetch) fetch ;;
start) start ;;
stop) stop ;;
restart) stop && start ;;
status) status ;;
reset) stop && rm -rf "$STATE" && say "removed $STATE" ;;
env) echo "export FLAVABEAM_KAFKA_BROKERS=127.0.0.1:${PORT}" ;;
*)
	echo "usage: $0 start|stop|restart|status|reset|fetch|env" >&2
	exit 2
	;;
esac
