#!/usr/bin/env bash
# Same-run comparison of flavabeam with its peers.
#
#   scripts/bench/compare.sh [peers.sh options] [TABLE_FILE]
#       runs peers.sh: flavabeam f32 and bf16 against PyTorch 2 (fp32, bf16
#       autocast), ONNX Runtime and OpenVINO (f32, default precision) from
#       PyPI, per CPU second at 1 thread (see peers.sh --help).
#   scripts/bench/compare.sh --legacy-torch113 [options below] [TABLE_FILE]
#       the older comparison, kept for its sgemm section: Debian's PyTorch
#       1.13 (OpenBLAS) and numpy, wall clock, 1 and 2 threads. Nobody deploys
#       FLAVA on that torch today; it is not a peer to beat.
#
# Legacy mode:
# Runs, back to back and per round: numpy/torch sgemm, Go BenchmarkSgemm,
# PyTorch FLAVA encoders, Go FLAVA benchmarks at GOMAXPROCS=1 and =2; then
# prints the table (also written to TABLE_FILE when given). Raw outputs are kept
# in the work directory it names at the end. See scripts/bench/README.md.
#
# Options:
#   --quick           smoke test: 1 call per case, -benchtime 1x (numbers meaningless)
#   --rounds N        repeat the whole sequence N times; medians are reported (default 1)
#   --benchtime D     Go -benchtime for the FLAVA benchmarks (default 10s)
#   --min-time S      PyTorch timed seconds per case, at least (default 10)
#   --sgemm-time S    sgemm: Go -benchtime S s and numpy seconds (default 3)
#   --count N         Go -count (default 1)
#   --threads LIST    thread counts, comma-separated (default 1,2)
#   --venv DIR        virtual environment (default scripts/bench/.venv-bench, or $BENCH_VENV)
#   --workdir DIR     where raw outputs go (default a new mktemp -d)
#   --no-torch        skip the Python side (Go only)
#   --no-go           skip the Go side (PyTorch only)
#   --no-install      never apt-get/pip install; fail if something is missing
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${1-} != --legacy-torch113 ]]; then
	exec "$here/peers.sh" "$@"
fi
shift
root=$(cd "$here/../.." && pwd)

quick=0 rounds=1 benchtime=10s min_time=10 sgemm_time=3 count=1 threads=1,2
venv=${BENCH_VENV:-$here/.venv-bench} workdir="" do_torch=1 do_go=1 install=1 table_file=""
die() { echo "compare.sh: $*" >&2; exit 2; }
need() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) quick=1 ;;
	--rounds) need "$@"; rounds=$2; shift ;;
	--benchtime) need "$@"; benchtime=$2; shift ;;
	--min-time) need "$@"; min_time=$2; shift ;;
	--sgemm-time) need "$@"; sgemm_time=$2; shift ;;
	--count) need "$@"; count=$2; shift ;;
	--threads) need "$@"; threads=$2; shift ;;
	--venv) need "$@"; venv=$2; shift ;;
	--workdir) need "$@"; workdir=$2; shift ;;
	--no-torch) do_torch=0 ;;
	--no-go) do_go=0 ;;
	--no-install) install=0 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//; /^set -e/d'; exit 0 ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) [[ -z $table_file ]] || die "only one TABLE_FILE"; table_file=$1 ;;
	esac
	shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds: want a positive integer, got '$rounds'"
[[ $count =~ ^[1-9][0-9]*$ ]] || die "--count: want a positive integer, got '$count'"
[[ $threads =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--threads: want e.g. 1,2, got '$threads'"
[[ $sgemm_time =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--sgemm-time: want seconds, got '$sgemm_time'"
[[ $min_time =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--min-time: want seconds, got '$min_time'"
if [[ -n $table_file ]]; then
	table_file=$(cd "$(dirname "$table_file")" && pwd)/$(basename "$table_file")
fi

if [[ $quick == 1 ]]; then
	benchtime=1x
	sgemm_bt=1x
	py_time=(--quick --two-thread-configs same)
else
	sgemm_bt=${sgemm_time}s
	py_time=(--min-time "$min_time" --sgemm-min-time "$sgemm_time")
fi

workdir=${workdir:-$(mktemp -d "${TMPDIR:-/tmp}/flavabeam-bench.XXXXXX")}
mkdir -p "$workdir"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# The PyTorch peer: Debian's python3-torch 1.13 (CPU only, OpenBLAS, MKL-DNN)
# for /usr/bin/python3, in a venv that sees the system site-packages, plus a
# transformers that has FLAVA and still runs on torch 1.13 (requirements.txt).
# PyPI's torch wheels would pull gigabytes of CUDA libraries. PYTHONNOUSERSITE
# keeps a ~/.local transformers (which venvs with system site-packages would
# otherwise put first) out of the way.
export PYTHONNOUSERSITE=1
py=$venv/bin/python
setup_python() {
	local sys_py=/usr/bin/python3
	[[ -x $sys_py ]] || die "$sys_py not found (Debian's Python is what python3-torch is built for)"
	if ! "$sys_py" -c 'import torch, numpy, venv' 2>/dev/null; then
		[[ $install == 1 ]] || die "system torch/numpy/venv missing; run: apt-get install python3-torch python3-numpy libopenblas0-pthread python3-venv"
		[[ $(id -u) == 0 ]] || die "need root to apt-get install python3-torch python3-numpy libopenblas0-pthread python3-venv"
		log "installing Debian's python3-torch, numpy, OpenBLAS (pthreads), venv"
		local pkgs=(python3-torch python3-numpy libopenblas0-pthread python3-venv)
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >"$workdir/apt.log" 2>&1 ||
			{ apt-get update >>"$workdir/apt.log" 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >>"$workdir/apt.log" 2>&1; } ||
			die "apt-get install failed, see $workdir/apt.log"
	fi
	if [[ ! -x $py ]]; then
		[[ $install == 1 ]] || die "no venv at $venv"
		log "creating venv $venv (--system-site-packages)"
		"$sys_py" -m venv --system-site-packages "$venv"
	fi
	if ! "$py" - "$here/requirements.txt" <<-'EOF' 2>/dev/null; then
		import sys
		from importlib.metadata import version
		import torch, threadpoolctl, transformers
		from transformers import FlavaImageModel
		want = {}
		for line in open(sys.argv[1]):
		    line = line.split("#")[0].strip()
		    if "==" in line:
		        k, v = line.split("==")
		        want[k.strip()] = v.strip()
		sys.exit(any(version(k) != v for k, v in want.items()))
	EOF
		[[ $install == 1 ]] || die "venv $venv lacks requirements.txt's packages"
		log "pip install -r scripts/bench/requirements.txt into $venv"
		"$py" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt" >"$workdir/pip.log" 2>&1 ||
			die "pip install failed, see $workdir/pip.log"
	fi
}

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, set on some machines, would pin
# OpenBLAS to another kernel: unset for the Python runs only (torch_flava.py
# reports the kernel in use through threadpoolctl).
run_py() {
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS \
		OMP_WAIT_POLICY=PASSIVE "$py" "$here/torch_flava.py" --threads "$threads" "${py_time[@]}" "$@"
}

# Go test binaries are built once, outside the timings, and run from their
# package directory. The FLAVA benchmarks take their thread count from
# kernels' init (SetThreads(GOMAXPROCS)), so each thread count is its own
# process with GOMAXPROCS set; `-cpu 1,2` would change GOMAXPROCS after init
# and leave kernels at the machine's core count. BenchmarkSgemm sets its
# threads itself (sub-benchmarks threads=1, threads=2).
flava_bench='^(BenchmarkImageEncoder|BenchmarkTextEncoder|BenchmarkMultimodalEncoder|BenchmarkCodebook112)$'
# Only the requested thread counts: a threads=2 sub-benchmark under GOMAXPROCS=1
# would time two pool workers sharing one P.
sgemm_bench="^BenchmarkSgemm\$/^[0-9]+x[0-9]+x[0-9]+\$/^threads=(${threads//,/|})\$"
maxthreads=$(tr ',' '\n' <<<"$threads" | sort -n | tail -1)
build_go() {
	log "building Go test binaries"
	(cd "$root" && go test -c -o "$workdir/kernels.test" ./kernels && go test -c -o "$workdir/flava.test" ./model/flava)
}
run_go_sgemm() {
	(cd "$root/kernels" && GOMAXPROCS=$maxthreads "$workdir/kernels.test" -test.run '^$' \
		-test.bench "$sgemm_bench" -test.benchtime "$sgemm_bt" -test.count "$count" -test.benchmem)
}
run_go_flava() {
	(cd "$root/model/flava" && GOMAXPROCS=$1 "$workdir/flava.test" -test.run '^$' \
		-test.bench "$flava_bench" -test.benchtime "$benchtime" -test.count "$count")
}

[[ $do_torch == 1 ]] && setup_python
[[ $do_go == 1 ]] && build_go
{
	echo "date: $(date -u +%FT%TZ)"
	echo "git: $(cd "$root" && git rev-parse --short HEAD 2>/dev/null)$(cd "$root" && git diff --quiet HEAD -- kernels model 2>/dev/null || echo ' (kernels/model modified)')"
	echo "go: $(go version)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) x$(nproc); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "settings: quick=$quick rounds=$rounds threads=$threads benchtime=$benchtime sgemm=$sgemm_bt count=$count min_time=$min_time"
} >"$workdir/run.txt"
cat "$workdir/run.txt" >&2

report_args=()
start=$SECONDS
for ((r = 1; r <= rounds; r++)); do
	tj=$workdir/torch.r$r.jsonl
	if [[ $do_torch == 1 ]]; then
		log "round $r: numpy/torch sgemm"
		run_py --cases none >"$tj" 2>"$workdir/torch.r$r.err" || die "torch_flava.py failed, see $workdir/torch.r$r.err"
	fi
	if [[ $do_go == 1 ]]; then
		log "round $r: Go BenchmarkSgemm"
		run_go_sgemm >"$workdir/go-kernels.r$r.txt" 2>&1 || die "Go sgemm benchmark failed, see $workdir/go-kernels.r$r.txt"
		report_args+=(--go-kernels "$workdir/go-kernels.r$r.txt")
	fi
	if [[ $do_torch == 1 ]]; then
		log "round $r: PyTorch FLAVA encoders (threads $threads)"
		run_py --sgemm off 2>>"$workdir/torch.r$r.err" | tee -a "$tj" >&2 || die "torch_flava.py failed, see $workdir/torch.r$r.err"
		report_args+=(--torch "$tj")
	fi
	if [[ $do_go == 1 ]]; then
		for t in ${threads//,/ }; do
			log "round $r: Go FLAVA benchmarks, GOMAXPROCS=$t"
			out=$workdir/go-flava.t$t.r$r.txt
			run_go_flava "$t" 2>&1 | tee "$out" >&2 || die "Go FLAVA benchmarks failed, see $out"
			report_args+=(--go-flava "$t:$out")
		done
	fi
done
log "done in $((SECONDS - start)) s; raw outputs in $workdir"

{
	sed 's/^/# /' "$workdir/run.txt"
	"$(command -v /usr/bin/python3 || command -v python3)" "$here/report.py" "${report_args[@]}"
} >"$workdir/table.txt"
cat "$workdir/table.txt"
[[ -z $table_file ]] || cp "$workdir/table.txt" "$table_file"
