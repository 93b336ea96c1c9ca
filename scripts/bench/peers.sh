#!/usr/bin/env bash
# Same-run comparison of flavabeam (Go, f32 and bf16) with the runtimes users
# would pick instead: PyTorch 2.x (fp32, bf16 autocast), ONNX Runtime fp32,
# OpenVINO f32 and OpenVINO at its default precision, on the model/flava
# benchmarks' shapes (flava-full, random weights). compare.sh calls this.
#
#   scripts/bench/peers.sh [options] [TABLE_FILE]
#
# The table's ratios are of items per CPU second (process CPU time: getrusage
# for Go, time.process_time for Python) at 1 thread, so that a loaded, shared
# machine still gives a comparison of work done; wall-clock rates are printed
# too and marked noisy. See scripts/bench/README.md.
#
# Options:
#   --quick           smoke test: image/b1, text/b8x16, codebook/b8 only (Go: codebook/b1), 1 call each
#   --cases LIST      comma-separated (default image/b1,image/b8,text/b8x77,text/b8x16,model/b8,codebook/b8)
#   --threads N       threads for every engine (default 1)
#   --min-iters N     timed calls per case after one warm-up call (default 2; Go: -benchtime Nx)
#   --min-cpu S       Python: timed CPU seconds per case, at least (default 0)
#   --serial          one engine after another (default: three chains at once — Go f32 then bf16;
#                     torch f32 then bf16; ONNX export then ORT, OpenVINO f32, OpenVINO default —
#                     which gets a loaded machine's CPU share faster; CPU seconds per item are what
#                     is compared either way, though parallel chains share L3 and memory bandwidth)
#   --venv DIR        virtual environment (default scripts/bench/.venv-peers, or $BENCH_PEERS_VENV)
#   --workdir DIR     where exports and raw outputs go (default a new mktemp -d)
#   --no-install      never pip install; fail if something is missing
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

quick=0 threads=1 min_iters=2 min_cpu=0 serial=0 install=1 table_file="" workdir=""
cases=image/b1,image/b8,text/b8x77,text/b8x16,model/b8,codebook/b8
venv=${BENCH_PEERS_VENV:-$here/.venv-peers}
die() { echo "peers.sh: $*" >&2; exit 2; }
need() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) quick=1 ;;
	--cases) need "$@"; cases=$2; shift ;;
	--threads) need "$@"; threads=$2; shift ;;
	--min-iters) need "$@"; min_iters=$2; shift ;;
	--min-cpu) need "$@"; min_cpu=$2; shift ;;
	--serial) serial=1 ;;
	--venv) need "$@"; venv=$2; shift ;;
	--workdir) need "$@"; workdir=$2; shift ;;
	--no-install) install=0 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//; /^set -e/d'; exit 0 ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) [[ -z $table_file ]] || die "only one TABLE_FILE"; table_file=$1 ;;
	esac
	shift
done
[[ $threads =~ ^[1-9][0-9]*$ ]] || die "--threads: want a positive integer, got '$threads'"
[[ $min_iters =~ ^[1-9][0-9]*$ ]] || die "--min-iters: want a positive integer, got '$min_iters'"
[[ $min_cpu =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--min-cpu: want seconds, got '$min_cpu'"
if [[ $quick == 1 ]]; then
	cases=image/b1,text/b8x16,codebook/b8 min_iters=1 min_cpu=0
fi
if [[ -n $table_file ]]; then
	table_file=$(cd "$(dirname "$table_file")" && pwd)/$(basename "$table_file")
fi
workdir=${workdir:-$(mktemp -d "${TMPDIR:-/tmp}/flavabeam-peers.XXXXXX")}
mkdir -p "$workdir"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# The peers, from PyPI into a venv of their own (no system site-packages).
# torch's Linux wheel pulls ~3 GB of CUDA libraries it does not use on CPU;
# about two minutes on a fast link.
export PYTHONNOUSERSITE=1
py=$venv/bin/python
setup_python() {
	if [[ ! -x $py ]]; then
		[[ $install == 1 ]] || die "no venv at $venv"
		log "creating venv $venv"
		python3 -m venv "$venv"
	fi
	if ! "$py" -c 'import torch, transformers, onnx, onnxruntime, openvino, numpy; from transformers import FlavaModel' 2>/dev/null; then
		[[ $install == 1 ]] || die "venv $venv lacks requirements-peers.txt's packages"
		log "pip install -r scripts/bench/requirements-peers.txt into $venv (torch pulls ~3 GB)"
		"$py" -m pip install -q --disable-pip-version-check -r "$here/requirements-peers.txt" >"$workdir/pip.log" 2>&1 ||
			die "pip install failed, see $workdir/pip.log"
	fi
}

# Go: one test binary, one process for both precisions (kernels takes its
# thread count from GOMAXPROCS at init). Sub-benchmarks: image batch1/batch8,
# text seq77/seq16, model batch8, codebook batch8 (its batch1 runs too,
# cheaply, and is not in the table).
go_bench='^(BenchmarkImageEncoder|BenchmarkImageEncoderBF16|BenchmarkTextEncoder|BenchmarkTextEncoderBF16|BenchmarkModel|BenchmarkModelBF16|BenchmarkCodebook112|BenchmarkCodebook112BF16)$/^(batch1|batch8|seq77|seq16)$'
if [[ $quick == 1 ]]; then
	go_bench='^(BenchmarkImageEncoder|BenchmarkImageEncoderBF16|BenchmarkTextEncoder|BenchmarkTextEncoderBF16|BenchmarkCodebook112|BenchmarkCodebook112BF16)$/^(batch1|seq16)$'
fi
run_go() {
	(cd "$root/model/flava" && GOMAXPROCS=$threads "$workdir/flava.test" -test.run '^$' \
		-test.bench "$go_bench" -test.benchtime "${min_iters}x" -test.benchmem) >"$workdir/go.t$threads.txt" 2>&1 ||
		{ log "Go benchmarks failed, see $workdir/go.t$threads.txt"; return 1; }
	log "Go done"
}
run_peer() { # name engines
	env -u OMP_NUM_THREADS OMP_WAIT_POLICY=PASSIVE "$py" "$here/peers_flava.py" --workdir "$workdir" \
		--threads "$threads" --cases "$cases" --engines "$2" --min-iters "$min_iters" --min-cpu "$min_cpu" \
		>"$workdir/peer-$1.t$threads.jsonl" 2>"$workdir/peer-$1.t$threads.err" ||
		{ log "$2 failed, see $workdir/peer-$1.t$threads.err"; return 1; }
	log "$2 done"
}
prepare() {
	"$py" "$here/peers_flava.py" --workdir "$workdir" --cases "$cases" --prepare \
		>"$workdir/prepare.jsonl" 2>"$workdir/prepare.err" || { log "ONNX export failed, see $workdir/prepare.err"; return 1; }
	log "ONNX exports done"
}

setup_python
log "building the model/flava test binary"
(cd "$root" && go test -c -o "$workdir/flava.test" ./model/flava)
{
	echo "date: $(date -u +%FT%TZ)"
	echo "git: $(cd "$root" && git rev-parse --short HEAD 2>/dev/null)$(cd "$root" && git diff --quiet HEAD -- kernels model 2>/dev/null || echo ' (kernels/model modified)')"
	echo "go: $(go version)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2- | tr -d ' ') model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2- | tr -d ' ')) x$(nproc); $(grep -m1 -o -w -E 'avx512f' /proc/cpuinfo || echo no-avx512f) $(grep -m1 -o -w avx512_bf16 /proc/cpuinfo || echo no-avx512_bf16) $(grep -m1 -o -w amx_tile /proc/cpuinfo || echo no-amx)"
	echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "settings: quick=$quick cases=$cases threads=$threads min_iters=$min_iters min_cpu=$min_cpu serial=$serial"
} >"$workdir/run.txt"
cat "$workdir/run.txt" >&2

start=$SECONDS
fail=0
if [[ $serial == 1 ]]; then
	log "serial: Go (f32, bf16), torch (f32, bf16), ONNX export, onnx (ort-f32, ov-f32, ov-default)"
	run_go || fail=1
	run_peer torch torch-f32,torch-bf16 || fail=1
	if prepare; then run_peer onnx ort-f32,ov-f32,ov-default || fail=1; else fail=1; fi
else
	# Three chains at once (memory: each holds one copy of flava-full, ~2-3 GB).
	log "parallel chains: Go (f32, bf16) | torch (f32, bf16) | ONNX export, then ort-f32, ov-f32, ov-default"
	pids=()
	run_go & pids+=($!)
	run_peer torch torch-f32,torch-bf16 & pids+=($!)
	(prepare && run_peer onnx ort-f32,ov-f32,ov-default) & pids+=($!)
	trap 'kill "${pids[@]}" 2>/dev/null' INT TERM
	for p in "${pids[@]}"; do wait "$p" || fail=1; done
	trap - INT TERM
fi
"$py" "$here/peers_flava.py" --workdir "$workdir" --threads "$threads" --cases "$cases" --accuracy \
	>"$workdir/accuracy.t$threads.jsonl" 2>>"$workdir/prepare.err" || fail=1
log "done in $((SECONDS - start)) s; raw outputs in $workdir"

{
	sed 's/^/# /' "$workdir/run.txt"
	echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	"$py" "$here/peers_report.py" --go "$threads:$workdir/go.t$threads.txt" \
		$(for f in "$workdir"/peer-*.t"$threads".jsonl "$workdir/accuracy.t$threads.jsonl" "$workdir/prepare.jsonl"; do [[ -f $f ]] && echo "--peers $f"; done)
} >"$workdir/table.txt"
cat "$workdir/table.txt"
[[ -z $table_file ]] || cp "$workdir/table.txt" "$table_file"
[[ $fail == 0 ]] || die "some engines failed (their cases show n/a or –); logs in $workdir"
