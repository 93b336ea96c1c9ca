#!/usr/bin/env bash
# cluster-embed.sh — the bounded embed job on a Flink session cluster of
# separate JVMs (scripts/flink/cluster.sh: one JobManager, two TaskManagers
# with one slot each), parallelism 2, one Beam Go SDK worker process per
# TaskManager (--environment_type=PROCESS); checks that both TaskManagers did
# part of the work (Flink's REST API), that the model was loaded at most once
# per worker process (the load_model metric), and that the output equals
# prism's bit for bit.
#
# Usage: scripts/flink/cluster-embed.sh
#
# Starts the cluster when none answers (and stops it again at the end), so
# it is self-contained; with a running cluster it leaves it running.
# The input is testdata/records.parquet split round-robin into two files:
# Flink's DataSet optimizer merges parquetio.Read's second Reshuffle (row
# groups) into its first (files), so one file is read by one TaskManager (see
# RESULT.md); two files give each TaskManager one.
#
# Needs what cluster.sh needs. Environment: as cluster.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

REST="http://localhost:${FLAVABEAM_FLINK_REST_PORT:-8081}"
ENDPOINT="localhost:${FLAVABEAM_FLINK_PORT:-8099}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/flavabeam-cluster-embed-XXXXXX")"
say() { echo "cluster-embed.sh: $(date -u +%H:%M:%S) $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

started=0
if ! scripts/flink/cluster.sh status >/dev/null 2>&1; then
	scripts/flink/cluster.sh start >/dev/null
	started=1
fi
finish() {
	rm -f "$WORK/flavabeam" "$WORK/check" # ~230 MB; outputs and logs stay
	[[ $started == 1 ]] && scripts/flink/cluster.sh stop || true
}
trap finish EXIT
eval "$(scripts/flink/cluster.sh env)"

say "building flavabeam and check into $WORK"
CGO_ENABLED=0 go build -o "$WORK/flavabeam" ./cmd/flavabeam
go build -o "$WORK/check" ./scripts/flink/check
"$WORK/check" -split testdata/records.parquet "$WORK/input" 2 >&2

say "prism reference"
"$WORK/flavabeam" embed --input "$WORK/input/*.parquet" --output "$WORK/prism" --progress=0 >"$WORK/prism.log" 2>&1 ||
	{ cat "$WORK/prism.log" >&2; die "the prism run failed"; }

before="$(curl -fsS "$REST/jobs" | json 'print(" ".join(j["id"] for j in d["jobs"]))')"
say "running embed on Flink ($FLAVABEAM_FLINK_REST), parallelism 2, PROCESS workers"
start=$(date +%s)
"$WORK/flavabeam" embed --runner=flink --endpoint="$ENDPOINT" \
	--environment_type=PROCESS --environment_config="{\"command\":\"$FLAVABEAM_FLINK_WORKER_BOOT\"}" \
	--worker_binary="$WORK/flavabeam" --parallelism=2 \
	--input "$WORK/input/*.parquet" --output "$WORK/flink" --progress=0 >"$WORK/flink.log" 2>&1 ||
	{ tail -n 30 "$WORK/flink.log" >&2; die "the Flink run failed"; }
say "Flink run took $(($(date +%s) - start)) s"
grep -E '^records in|load_model_latency' "$WORK/flink.log" >&2 || true

job="$(curl -fsS "$REST/jobs" | json "
old=set('$before'.split())
print(next((j['id'] for j in d['jobs'] if j['id'] not in old), ''))")"
[[ -n "$job" ]] || die "no new job on $REST"
state="$(curl -fsS "$REST/jobs/$job" | json 'print(d["state"])')"
[[ "$state" == FINISHED ]] || die "job $job is $state"
split="$(curl -fsS "$REST/jobs/$job" | json 'print(next(v["id"] for v in d["vertices"] if "transforms.Embed" in v["name"]))' |
	xargs -I{} curl -fsS "$REST/jobs/$job/vertices/{}" | json '
subs=d["subtasks"]
for s in subs: print("  subtask %d on %s: %d records in, %d out" % (s["subtask"], s.get("taskmanager-id"), s["metrics"]["read-records"], s["metrics"]["write-records"]))
tms={s.get("taskmanager-id") for s in subs if s["metrics"]["write-records"] > 0}
print("TASKMANAGERS_WITH_WORK %d" % len(tms))')"
echo "embed stage of job $job (Flink REST /jobs/$job/vertices/<id>):" >&2
grep -v TASKMANAGERS_WITH_WORK <<<"$split" >&2
[[ "$(grep -o 'TASKMANAGERS_WITH_WORK [0-9]*' <<<"$split" | cut -d' ' -f2)" == 2 ]] ||
	die "the embed stage did not run on both TaskManagers"
# The model cache is per worker process: at most one load per TaskManager's
# SDK worker. (The job summary's figure comes from Flink's accumulators at
# job end; it has read 1 as well as 2 on this cluster.)
loads="$(grep -E '^\s*load_model_latency' "$WORK/flink.log" | awk '{print $2}')"
[[ "$loads" =~ ^[12]$ ]] || die "load_model count '$loads', want one per worker process (1 or 2)"

"$WORK/check" "$WORK/flink" 22 2 >&2
"$WORK/check" -compare "$WORK/flink" "$WORK/prism" >&2
say "OK: embed ran on both TaskManagers, the model loaded once per worker, output equal to prism's (files in $WORK)"
