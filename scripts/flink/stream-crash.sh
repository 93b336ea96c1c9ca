#!/usr/bin/env bash
# stream-crash.sh — the Kafka streaming embed job on the Flink session cluster
# (scripts/flink/cluster.sh) through a TaskManager crash: records are produced
# at a steady rate, the job runs with parallelism 2 and checkpoints, one
# TaskManager is killed with SIGKILL mid-stream, a supervisor's restart is
# simulated after FLAVABEAM_CRASH_RESTART_AFTER seconds, Flink restores the
# job from its last completed checkpoint, and afterwards every input id must
# be in the output topic or the dead-letter topic.
#
# Usage: scripts/flink/stream-crash.sh
#
# Needs: the cluster (scripts/flink/cluster.sh start) and a Kafka broker
# (FLAVABEAM_KAFKA_PORT=9192 FLAVABEAM_KAFKA_CONTROLLER_PORT=9193
# scripts/kafka/kafka.sh start), Go, python3 (reads the Flink REST answers).
#
# Environment (all optional):
#   FLAVABEAM_KAFKA_BROKERS         broker (default 127.0.0.1:9192)
#   FLAVABEAM_CRASH_RECORDS         records to produce (default 600)
#   FLAVABEAM_CRASH_RATE            records per second (default 5)
#   FLAVABEAM_CRASH_KILL_AFTER      seconds after the job's first completed
#                                   checkpoint to kill a TaskManager (default 30)
#   FLAVABEAM_CRASH_RESTART_AFTER   seconds before the killed TaskManager is
#                                   started again (default 10)
#   FLAVABEAM_CRASH_TM              TaskManager to kill (default 2)
#   FLAVABEAM_FLINK_REST_PORT, FLAVABEAM_FLINK_PORT, FLAVABEAM_FLINK_STATE: as in cluster.sh
#
# Prints the figures (records, lost, duplicates, recovery times, committed
# offsets) and exits non-zero when an input id is lost or the job did not
# recover.
set -euo pipefail
cd "$(dirname "$0")/../.."

BROKERS="${FLAVABEAM_KAFKA_BROKERS:-127.0.0.1:9192}"
COUNT="${FLAVABEAM_CRASH_RECORDS:-600}"
RATE="${FLAVABEAM_CRASH_RATE:-5}"
KILL_AFTER="${FLAVABEAM_CRASH_KILL_AFTER:-30}"
RESTART_AFTER="${FLAVABEAM_CRASH_RESTART_AFTER:-10}"
VICTIM="${FLAVABEAM_CRASH_TM:-2}"
REST="http://localhost:${FLAVABEAM_FLINK_REST_PORT:-8081}"
ENDPOINT="localhost:${FLAVABEAM_FLINK_PORT:-8099}"
RUN="crash-$(date +%s)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/flavabeam-stream-crash-XXXXXX")"

say() { echo "stream-crash.sh: $(date -u +%H:%M:%S) $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
now() { date +%s.%N | cut -c1-14; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

scripts/flink/cluster.sh status >/dev/null || die "no Flink cluster: run scripts/flink/cluster.sh start"
eval "$(scripts/flink/cluster.sh env)"

say "building flavabeam and streamcheck into $WORK"
CGO_ENABLED=0 go build -o "$WORK/flavabeam" ./cmd/flavabeam
go build -o "$WORK/streamcheck" ./scripts/flink/streamcheck

IN="$RUN-in" OUT="$RUN-out" DEAD="$RUN-out-dead-letters"
"$WORK/streamcheck" create -brokers "$BROKERS" -partitions 4 "$IN" "$OUT" "$DEAD" || die "cannot create topics on $BROKERS"

JOB_PID="" PROD_PID="" JOB_ID="" t_restart_tm=""
cleanup() {
	[[ -n "$JOB_ID" ]] && curl -fsS -X PATCH "$REST/jobs/$JOB_ID?mode=cancel" >/dev/null 2>&1 || true
	for p in $PROD_PID $JOB_PID; do
		kill -0 "$p" 2>/dev/null || continue
		kill "$p" 2>/dev/null || true
		for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 1; done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -f "$WORK/flavabeam" "$WORK/streamcheck" # ~230 MB; logs and figures stay
	# The victim must be running again for the next user of the cluster
	# (start-tm refuses when it already runs).
	[[ -n "$t_restart_tm" ]] || scripts/flink/cluster.sh start-tm "$VICTIM" >/dev/null 2>&1 || true
}
trap cleanup EXIT

before="$(curl -fsS "$REST/jobs" | json 'print(" ".join(j["id"] for j in d["jobs"]))')"
say "submitting the streaming embed job (parallelism 2, PROCESS workers, group $RUN)"
"$WORK/flavabeam" embed --runner=flink --endpoint="$ENDPOINT" \
	--environment_type=PROCESS --environment_config="{\"command\":\"$FLAVABEAM_FLINK_WORKER_BOOT\"}" \
	--worker_binary="$WORK/flavabeam" --parallelism=2 \
	--streaming --kafka-brokers "$BROKERS" --input-topic "$IN" --output-topic "$OUT" \
	--group-id "$RUN" --start-from earliest --commit-offsets --progress=0 >"$WORK/job.log" 2>&1 &
JOB_PID=$!

for _ in $(seq 1 300); do
	JOB_ID="$(curl -fsS "$REST/jobs" | json "
old=set('$before'.split())
print(next((j['id'] for j in d['jobs'] if j['id'] not in old), ''))")"
	[[ -n "$JOB_ID" ]] && break
	kill -0 "$JOB_PID" 2>/dev/null || { cat "$WORK/job.log" >&2; die "the job exited before Flink listed it"; }
	sleep 1
done
[[ -n "$JOB_ID" ]] || die "no job appeared on $REST"
say "Flink job $JOB_ID; producing $COUNT records at $RATE/s to $IN"
"$WORK/streamcheck" produce -brokers "$BROKERS" -topic "$IN" -count "$COUNT" -rate "$RATE" -bad 50 -prefix "$RUN" >"$WORK/produce.log" 2>&1 &
PROD_PID=$!

completed() { curl -fsS "$REST/jobs/$JOB_ID/checkpoints" | json 'print(d["counts"]["completed"])'; }
for _ in $(seq 1 600); do
	[[ "$(completed 2>/dev/null || echo 0)" -ge 1 ]] && break
	kill -0 "$JOB_PID" 2>/dev/null || { tail -n 20 "$WORK/job.log" >&2; die "the job exited"; }
	sleep 1
done
[[ "$(completed)" -ge 1 ]] || die "no checkpoint completed within 600 s"
say "first checkpoint completed; killing TaskManager $VICTIM in ${KILL_AFTER}s"
sleep "$KILL_AFTER"

embed_vertex="$(curl -fsS "$REST/jobs/$JOB_ID" | json 'print(next(v["id"] for v in d["vertices"] if "transforms.Embed" in v["name"]))')"
placement="$(curl -fsS "$REST/jobs/$JOB_ID/vertices/$embed_vertex" | json '
print("; ".join("subtask %d on %s" % (s["subtask"], s.get("taskmanager-id")) for s in d["subtasks"]))')"
say "embed stage before the crash: $placement"
ckpt_before="$(curl -fsS "$REST/jobs/$JOB_ID/checkpoints" | json 'c=d["latest"]["completed"]; print("%s (at %s)" % (c["id"], c["latest_ack_timestamp"]))')"

t_kill="$(now)"
scripts/flink/cluster.sh kill-tm "$VICTIM"
say "SIGKILLed TaskManager $VICTIM; last completed checkpoint $ckpt_before"

t_fail="" t_running="" t_ckpt="" restored=""
deadline=$(($(date +%s) + 600))
while (($(date +%s) < deadline)); do
	t="$(now)"
	if [[ -z "$t_restart_tm" ]] && python3 -c "import sys; sys.exit(0 if $t - $t_kill >= $RESTART_AFTER else 1)"; then
		scripts/flink/cluster.sh start-tm "$VICTIM"
		t_restart_tm="$t"
	fi
	st="$(curl -fsS "$REST/jobs/$JOB_ID" 2>/dev/null | json '
print(d["state"], all(v["status"] == "RUNNING" for v in d["vertices"]))' 2>/dev/null || echo "? False")"
	if [[ -z "$t_fail" && "$st" != "RUNNING True" ]]; then
		t_fail="$t"
		say "job noticed the failure: $st"
	fi
	if [[ -n "$t_fail" && -z "$t_running" && "$st" == "RUNNING True" ]]; then
		t_running="$t"
		restored="$(curl -fsS "$REST/jobs/$JOB_ID/checkpoints" | json 'r=d["latest"]["restored"]; print(r["id"] if r else "none")')"
		say "job running again, restored from checkpoint $restored"
	fi
	if [[ -n "$t_running" ]]; then
		ack="$(curl -fsS "$REST/jobs/$JOB_ID/checkpoints" | json 'c=d["latest"]["completed"]; print(c["latest_ack_timestamp"] if c else 0)')"
		if python3 -c "import sys; sys.exit(0 if $ack / 1000 > $t_running else 1)"; then
			t_ckpt="$(python3 -c "print($ack / 1000)")"
			say "first checkpoint after the restore completed"
			break
		fi
	fi
	kill -0 "$JOB_PID" 2>/dev/null || { tail -n 20 "$WORK/job.log" >&2; die "the job exited during recovery"; }
	sleep 1
done
[[ -n "$t_ckpt" ]] || die "the job did not recover (running again: ${t_running:-no}) within 600 s"

say "waiting for the producer to finish"
wait "$PROD_PID" || die "the producer failed: $(tail -n 3 "$WORK/produce.log")"
PROD_PID=""
tail -n 1 "$WORK/produce.log" >&2
say "verifying: every input id in $OUT or $DEAD (re-reading for up to 300 s)"
set +e
"$WORK/streamcheck" verify -brokers "$BROKERS" -input "$IN" -output "$OUT" -dead "$DEAD" -prefix "$RUN" -wait 300s -group "$RUN" -wait-commits 60s | tee "$WORK/verify.txt"
ok=$?
set -e
after="$(curl -fsS "$REST/jobs/$JOB_ID/vertices/$embed_vertex" | json '
print("; ".join("subtask %d on %s" % (s["subtask"], s.get("taskmanager-id")) for s in d["subtasks"]))')"
loads="$(for s in 0 1; do curl -fsS "$REST/jobs/$JOB_ID/vertices/$embed_vertex/subtasks/$s/metrics" | json '
ids=[m["id"] for m in d if m["id"].endswith("flavabeam_load_model_latency_milli_secs")]
print(ids[0] if ids else "")' | while read -r m; do
	if [[ -n "$m" ]]; then
		curl -fsS -G "$REST/jobs/$JOB_ID/vertices/$embed_vertex/subtasks/$s/metrics" --data-urlencode "get=$m" |
			json 'print(d[0]["value"] if d else "none")'
	else
		echo "not reported yet"
	fi
done; done | paste -sd ';' -)" || loads="unavailable"
counts="$(curl -fsS "$REST/jobs/$JOB_ID/checkpoints" | json 'c=d["counts"]; print("completed %d, failed %d, restored %d" % (c["completed"], c["failed"], c["restored"]))')"

python3 - "$t_kill" "$t_fail" "$t_restart_tm" "$t_running" "$t_ckpt" <<'EOF' | tee -a "$WORK/verify.txt"
import sys
k, f, r, run, ck = map(float, sys.argv[1:])
print("SIGKILL -> failure noticed %.1f s; TaskManager restarted at +%.1f s; job RUNNING again +%.1f s; first checkpoint after restore +%.1f s"
      % (f - k, r - k, run - k, ck - k))
EOF
{
	echo "job $JOB_ID, topics $IN -> $OUT / $DEAD, group $RUN"
	echo "embed stage before the crash: $placement; after: $after"
	echo "checkpoint interval ${FLAVABEAM_FLINK_CHECKPOINT_MS:-10000} ms; last completed before the kill: $ckpt_before; restored from: $restored; checkpoints: $counts"
	echo "load_model_latency per embed subtask (since the restore): $loads"
} | tee -a "$WORK/verify.txt"
say "log and figures in $WORK"
[[ $ok == 0 ]] || die "input ids lost (see above)"
say "OK: 0 lost through a TaskManager SIGKILL"
