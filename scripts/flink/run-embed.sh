#!/usr/bin/env bash
# run-embed.sh — run `flavabeam embed` on Apache Flink through Beam's portable
# Flink job server (an embedded local Flink cluster in one JVM; no Docker: the
# Go SDK worker runs inside the flavabeam process, --environment_type=LOOPBACK),
# then check the output and stop the job server.
#
# Usage: scripts/flink/run-embed.sh [OUTPUT_DIR]      (default: a fresh temp dir)
#
# Needs: Go 1.26, Java 17 and Maven (for the job server jar, cached after the
# first run), network access to Maven Central on first use.
#
# Environment (all optional):
#   FLAVABEAM_BEAM_VERSION   Beam version of the job server (default: the Go SDK version in go.mod)
#   FLAVABEAM_FLINK_VERSION  Flink minor version, e.g. 1.19 (default: the newest of
#                            2.0 1.20 1.19 1.18 1.17 that Maven Central has for that Beam version)
#   FLAVABEAM_FLINK_CACHE    jar cache (default $HOME/.cache/flavabeam/flink)
#   FLAVABEAM_FLINK_PORT     job port (default 8099; artifact port = job port - 1, expansion = job port - 2)
#   FLAVABEAM_FLINK_TIMEOUT  seconds to wait for the job server to listen (default 180)
#   FLAVABEAM_FLINK_FALLBACK runner artifact used when no job-server jar can be fetched
#                            (default org.apache.beam:beam-runners-flink-1.16:2.50.0, the
#                            newest this machine's Maven mirror serves; "none" disables)
#
# The job server is Beam's shaded beam-runners-flink-<flink>-job-server jar when
# Maven can fetch one. Where it cannot (this project's machine serves none), the
# script resolves the plain runner artifact with its dependencies and starts the
# same job server (org.apache.beam.runners.flink.FlinkJobServerDriver) from that
# class path. The Go SDK talks to it over Beam's portable job API.
set -euo pipefail
cd "$(dirname "$0")/../.."

BEAM_VERSION="${FLAVABEAM_BEAM_VERSION:-$(awk '$1=="github.com/apache/beam/sdks/v2"{sub(/^v/,"",$2); print $2}' go.mod)}"
CACHE="${FLAVABEAM_FLINK_CACHE:-${HOME:-/root}/.cache/flavabeam/flink}"
PORT="${FLAVABEAM_FLINK_PORT:-8099}"
TIMEOUT="${FLAVABEAM_FLINK_TIMEOUT:-180}"
OUT="${1:-$(mktemp -d "${TMPDIR:-/tmp}/flavabeam-flink-XXXXXX")}"
STATE="$(mktemp -d "${TMPDIR:-/tmp}/flavabeam-flink-state-XXXXXX")"
mkdir -p "$CACHE"

log() { echo "run-embed.sh: $*" >&2; }

# fetch_jar VERSION: copy beam-runners-flink-VERSION-job-server into the cache.
fetch_jar() {
  local fv="$1" art="org.apache.beam:beam-runners-flink-$1-job-server:${BEAM_VERSION}"
  local jar="$CACHE/beam-runners-flink-$fv-job-server-${BEAM_VERSION}.jar"
  [ -s "$jar" ] && { echo "$jar"; return 0; }
  log "fetching $art from Maven Central (large: ~200 MB)"
  if mvn -q -B dependency:copy -Dartifact="$art" -DoutputDirectory="$CACHE" -Dmdep.overWriteReleases=false >"$STATE/mvn-$fv.log" 2>&1 && [ -s "$jar" ]; then
    echo "$jar"; return 0
  fi
  log "  not available: $(grep -m1 -o 'Could not find artifact[^ ]* [^ ]*\|was not found[^.]*\|Could not transfer[^.]*' "$STATE/mvn-$fv.log" || tail -n 3 "$STATE/mvn-$fv.log")"
  return 1
}

JAR=""
for fv in ${FLAVABEAM_FLINK_VERSION:-2.0 1.20 1.19 1.18 1.17}; do
  if JAR="$(fetch_jar "$fv")"; then FLINK_VERSION="$fv"; break; fi
  JAR=""
done
# fallback_classpath ARTIFACT: resolve group:artifact:version with its
# dependencies into the local Maven repository and print the class path.
fallback_classpath() {
  local art="$1" dir="$CACHE/fallback-${1//[:]/_}"
  local g="${art%%:*}" rest="${art#*:}"
  local a="${rest%%:*}" v="${rest#*:}"
  mkdir -p "$dir"
  if [ ! -s "$dir/classpath.txt" ]; then
    cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.flavabeam</groupId><artifactId>flink-job-server</artifactId><version>1</version>
  <dependencies><dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency></dependencies>
</project>
POM
    log "resolving $art and its dependencies with Maven"
    if ! (cd "$dir" && mvn -q -B dependency:build-classpath -Dmdep.outputFile=cp.txt >"$STATE/mvn-fallback.log" 2>&1); then
      log "  not available: $(tail -n 3 "$STATE/mvn-fallback.log")"
      return 1
    fi
    # build-classpath lists the dependencies only: add the artifact's own
    # jar, from the local repository the listed ones live in.
    local repo
    repo="$(tr ':' '\n' <"$dir/cp.txt" | grep -m1 '/org/apache/beam/' | sed 's#/org/apache/beam/.*##')"
    [ -s "$repo/${g//.//}/$a/$v/$a-$v.jar" ] || { log "  $a-$v.jar not found under $repo"; return 1; }
    echo "$repo/${g//.//}/$a/$v/$a-$v.jar:$(cat "$dir/cp.txt")" >"$dir/classpath.txt"
  fi
  cat "$dir/classpath.txt"
}

JOB_SERVER=()
if [ -n "$JAR" ]; then
  JOB_SERVER=(java -jar "$JAR")
  log "job server: $JAR (Flink $FLINK_VERSION, Beam $BEAM_VERSION)"
else
  FALLBACK="${FLAVABEAM_FLINK_FALLBACK:-org.apache.beam:beam-runners-flink-1.16:2.50.0}"
  log "no beam-runners-flink-*-job-server:${BEAM_VERSION} jar could be fetched; trying $FALLBACK"
  if [ "$FALLBACK" = none ] || ! CP="$(fallback_classpath "$FALLBACK")"; then
    log "FAILED: no Flink job server available (logs in $STATE)"
    exit 1
  fi
  JOB_SERVER=(java -cp "$CP" org.apache.beam.runners.flink.FlinkJobServerDriver --flink-master="[local]")
  FLINK_VERSION="${FALLBACK#*beam-runners-flink-}"; FLINK_VERSION="${FLINK_VERSION%%:*}"
  BEAM_VERSION="${FALLBACK##*:}"
  log "job server: FlinkJobServerDriver from $FALLBACK's class path (Flink $FLINK_VERSION, Beam $BEAM_VERSION)"
fi

log "building flavabeam"
CGO_ENABLED=0 go build -o "$STATE/flavabeam" ./cmd/flavabeam

"${JOB_SERVER[@]}" --job-port "$PORT" --artifact-port "$((PORT - 1))" --expansion-port "$((PORT - 2))" \
  >"$STATE/jobserver.log" 2>&1 &
JS_PID=$!
stop_job_server() {
  if kill -0 "$JS_PID" 2>/dev/null; then
    log "stopping the job server (pid $JS_PID)"
    kill "$JS_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$JS_PID" 2>/dev/null || return 0; sleep 1; done
    kill -9 "$JS_PID" 2>/dev/null || true
  fi
}
trap stop_job_server EXIT

log "waiting for the job server on localhost:$PORT (log: $STATE/jobserver.log)"
for i in $(seq 1 "$TIMEOUT"); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  kill -0 "$JS_PID" 2>/dev/null || { log "FAILED: job server exited"; tail -n 30 "$STATE/jobserver.log" >&2; exit 1; }
  [ "$i" = "$TIMEOUT" ] && { log "FAILED: job server not listening after ${TIMEOUT}s"; exit 1; }
  sleep 1
done

log "running flavabeam embed on Flink, output $OUT"
start=$(date +%s)
"$STATE/flavabeam" embed --runner=flink --endpoint="localhost:$PORT" --environment_type=LOOPBACK \
  --input testdata/records.parquet --output "$OUT" --progress=5s 2>&1 | tee "$STATE/embed.log" >&2
log "embed took $(( $(date +%s) - start ))s"

log "checking the output"
go run ./scripts/flink/check "$OUT" 22 2
log "OK: Flink $FLINK_VERSION (Beam $BEAM_VERSION job server) ran the embed job; output in $OUT"
