package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// withAMXKernel runs SgemmPackedBF16 on the AMX loop nest with kernel k
// until the test ends (the Go twin on any CPU; the assembly where amxEnable
// succeeded).
func withAMXKernel(t testing.TB, k amxKernelFunc) {
	oldK, oldUse := amxKernel, bf16UseAMX
	amxKernel, bf16UseAMX = k, true
	t.Cleanup(func() { amxKernel, bf16UseAMX = oldK, oldUse })
}

// bf16Round is x rounded to bf16 and read back as VDPBF16PS and TDPBF16PS
// read it (denormals as zero).
func bf16Round(x float32) float64 { return float64(bf16In(BF16FromFloat32(x))) }

// amxTol is the error bound for one output of the AMX loop nest against
// the float64 product of the bf16-rounded inputs: every product reaches C
// through at most 16 adds in its even or odd chain, one even+odd add and
// one add into C per 32-deep K step (k/32 of them), each off by at most
// 2⁻²⁴ relative (round to nearest) of a partial sum bounded by abs, the sum
// of |products| and |C|. Twice that, for implementations that order the
// chains differently within the SDM's latitude.
func amxTol(k int, abs float64) float64 {
	return float64(20+(k+31)/32) * 0x1p-23 * abs
}

// sgemmBF16F64 is the float64 product of the bf16-rounded inputs,
// ref = A·Wᵀ + beta·C (C not read when beta is 0), and, per element, the
// sum of the absolute values of its terms.
func sgemmBF16F64(m, n, k int, a []float32, lda int, w []float32, beta float32, c []float32, ldc int) (ref, abs []float64) {
	ref, abs = make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			if beta != 0 {
				s = float64(beta) * float64(c[i*ldc+j])
				sa = math.Abs(s)
			}
			for p := 0; p < k; p++ {
				t := bf16Round(a[i*lda+p]) * bf16Round(w[j*k+p])
				s += t
				sa += math.Abs(t)
			}
			ref[i*n+j], abs[i*n+j] = s, sa
		}
	}
	return ref, abs
}

// checkBF16Product compares the window of buf (m×n, row stride ldc, after
// guard NaNs) with ref within amxTol, and the guard bands and the padding
// between rows bit for bit with before.
func checkBF16Product(t *testing.T, what string, m, n, k, ldc int, buf, before []float32, ref, abs []float64) {
	t.Helper()
	const guard = 9
	for i := range buf {
		r, col := (i-guard)/ldc, (i-guard)%ldc
		if i < guard || i-guard >= m*ldc || col >= n {
			if math.Float32bits(buf[i]) != math.Float32bits(before[i]) {
				t.Fatalf("%s: wrote outside C at %d (row %d col %d)", what, i, r, col)
			}
			continue
		}
		want, tol := ref[r*n+col], amxTol(k, abs[r*n+col])
		if got := float64(buf[i]); !(math.Abs(got-want) <= tol) {
			t.Fatalf("%s: C[%d][%d] = %v, want %v ± %.3g", what, r, col, got, want, tol)
		}
	}
}

// TestAMXTwinFollowsSDM checks the tile model of amxKernelGo on cases
// worked by hand from the SDM's TDPBF16PS pseudo-code: separate even and
// odd sums over the 16 pairs (an order VDPBF16PS does not share), bf16
// denormal inputs read as zero, denormal results flushed.
func TestAMXTwinFollowsSDM(t *testing.T) {
	bf := func(f float32) uint32 { return uint32(BF16FromFloat32(f)) }
	pair := func(even, odd uint32) uint32 { return even | odd<<16 }
	newTiles := func() *amxTiles {
		var m amxTiles
		m.config(&amxTileConfig)
		return &m
	}
	t.Run("even and odd sums", func(t *testing.T) {
		// Row 0 of A: pair 0 = (4096, 1), pairs 1–15 = (1, 1); column 0
		// of B: pair 0 = (4096, 1), the others (1, 1). Even chain: 2²⁴
		// then fifteen +1, each rounding back to 2²⁴ (ties to even); odd
		// chain: 16. C = 2²⁴ + 16. One VDPBF16PS-style chain (odd then
		// even per pair) would give 2²⁴.
		m := newTiles()
		m.t[4][0][0] = pair(bf(4096), bf(1))
		m.t[6][0][0] = pair(bf(4096), bf(1))
		for k := 1; k < 16; k++ {
			m.t[4][0][k] = pair(bf(1), bf(1))
			m.t[6][k][0] = pair(bf(1), bf(1))
		}
		m.tdpbf16ps(0, 4, 6)
		if got := math.Float32frombits(m.t[0][0][0]); got != 1<<24+16 {
			t.Fatalf("C = %v, want 2^24+16 = %v", got, float32(1<<24+16))
		}
	})
	t.Run("denormal inputs read as zero", func(t *testing.T) {
		m := newTiles()
		m.t[4][0][0] = pair(0x0001, 0) // the smallest bf16 denormal
		m.t[6][0][0] = pair(bf(0x1p100), 0)
		m.tdpbf16ps(0, 4, 6)
		if got := m.t[0][0][0]; got != 0 {
			t.Fatalf("denormal·2¹⁰⁰ = %#x, want +0", got)
		}
	})
	t.Run("denormal results flushed", func(t *testing.T) {
		m := newTiles()
		m.t[4][0][0] = pair(bf(0x1p-70), 0)
		m.t[6][0][0] = pair(bf(0x1p-70), 0)
		m.tdpbf16ps(0, 4, 6)
		if got := m.t[0][0][0]; got != 0 {
			t.Fatalf("2⁻⁷⁰·2⁻⁷⁰ = %#x, want +0 (2⁻¹⁴⁰ is a float32 denormal)", got)
		}
	})
	t.Run("accumulates into C", func(t *testing.T) {
		m := newTiles()
		m.t[0][3][5] = math.Float32bits(0.5)
		m.t[4][3][2] = pair(bf(2), bf(3))
		m.t[6][2][5] = pair(bf(5), bf(7))
		m.tdpbf16ps(0, 4, 6)
		if got := math.Float32frombits(m.t[0][3][5]); got != 0.5+2*5+3*7 {
			t.Fatalf("C[3][5] = %v, want %v", got, 0.5+2*5+3*7)
		}
	})
}

// TestAMXKernelGoMatchesReference checks the Go twin alone against the
// float64 product: several 32-row blocks, byte strides wider than the data,
// load and not, guard NaNs around C untouched.
func TestAMXKernelGoMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, d := range []struct{ kp, blocks int }{{16, 1}, {48, 2}, {384, 3}} {
		for _, load := range []bool{false, true} {
			kp, blocks := d.kp, d.blocks
			rows, lda, ldc := amxMR*blocks, 2*kp+6, bf16NR+3
			af := randSlice(r, rows*lda)
			a := make([]uint16, len(af))
			ConvertBF16(a, af)
			// B as a packed panel: b[q·64 + 2j + t] = B[2q+t][j].
			bf := randSlice(r, 2*kp*bf16NR)
			b := make([]uint16, len(bf))
			ConvertBF16(b, bf)
			buf, win := guarded(r, rows, bf16NR, ldc, load)
			before := slices.Clone(buf)
			ref, abs := make([]float64, rows*bf16NR), make([]float64, rows*bf16NR)
			for i := 0; i < rows; i++ {
				for j := 0; j < bf16NR; j++ {
					var s, sa float64
					if load {
						s = float64(win[i*ldc+j])
						sa = math.Abs(s)
					}
					for p := 0; p < 2*kp; p++ {
						x := float64(bf16In(a[i*lda+p])) * float64(bf16In(b[(p/2)*2*bf16NR+2*j+p%2]))
						s += x
						sa += math.Abs(x)
					}
					ref[i*bf16NR+j], abs[i*bf16NR+j] = s, sa
				}
			}
			amxKernelGo(&amxTileConfig, kp, a, 2*lda, b, win, 4*ldc, load, blocks)
			checkBF16Product(t, fmt.Sprintf("kp=%d blocks=%d load=%v", kp, blocks, load), rows, bf16NR, 2*kp, ldc, buf, before, ref, abs)
		}
	}
}

// TestAMXKernelChecksOperands: operands too short for what the kernel
// reads panic before any tile is touched (the assembly has no bounds
// checks).
func TestAMXKernelChecksOperands(t *testing.T) {
	kp := 32
	a, b, c := make([]uint16, 64*2*kp), make([]uint16, kp*2*bf16NR), make([]float32, 64*bf16NR)
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"kp not a multiple of 16", func() { amxKernelGo(&amxTileConfig, 24, a, 4*kp, b, c, 128, false, 1) }},
		{"A short", func() { amxKernelGo(&amxTileConfig, kp, a[:len(a)-1], 4*kp, b, c, 128, false, 2) }},
		{"B short", func() { amxKernelGo(&amxTileConfig, kp, a, 4*kp, b[:len(b)-1], c, 128, false, 1) }},
		{"C short", func() { amxKernelGo(&amxTileConfig, kp, a, 4*kp, b, c[:len(c)-1], 128, false, 2) }},
		{"no blocks", func() { amxKernelGo(&amxTileConfig, kp, a, 4*kp, b, c, 128, false, 0) }},
		{"odd A stride", func() { amxKernelGo(&amxTileConfig, kp, a, 4*kp+1, b, c, 128, false, 1) }},
	} {
		if !panics(tc.fn) {
			t.Errorf("%s: no panic", tc.name)
		}
	}
	if panics(func() { amxKernelGo(&amxTileConfig, kp, a, 4*kp, b, c, 128, false, 2) }) {
		t.Fatal("exact-size operands panic")
	}
}

func panics(fn func()) (p bool) {
	defer func() { p = recover() != nil }()
	fn()
	return false
}

// TestSgemmPackedBF16AMXLoopNest checks the AMX loop nest (amxBlocked and
// its thread split) with the Go twin as the kernel, on any CPU: against the
// float64 product of the bf16-rounded inputs within amxTol, guard bands and
// row padding untouched, on m not a multiple of 32 (and across amxMC), n
// not a multiple of 32 (and across bf16NC), K = 768, 1536, 3072 and odd K
// padded to a multiple of 32, beta 0, 1 and -0.25, 1 and 2 threads, lda and
// ldc wider than the matrices; the two thread counts must agree bit for
// bit. Weights whose padded K is not a multiple of 32 must take the
// VDPBF16PS nest and match sgemmBF16Ref bit for bit.
func TestSgemmPackedBF16AMXLoopNest(t *testing.T) {
	dims := [][3]int{
		{1, 1, 768}, {32, 32, 768}, {33, 47, 768}, {64, 96, 768}, {70, 65, 1536},
		{45, 33, 3072}, {300, 40, 768}, {5, 1540, 768}, {31, 31, 767}, {20, 35, 64},
		{13, 40, 770}, {9, 33, 30}, {0, 20, 768}, {9, 0, 768}, {7, 9, 0},
	}
	if testing.Short() {
		dims = dims[:4]
	}
	withAMXKernel(t, amxKernelGo)
	r := rand.New(rand.NewPCG(43, 44))
	for _, d := range dims {
		m, n, k := d[0], d[1], d[2]
		lda, ldc := k+3, n+5
		a := randSlice(r, max(0, (m-1)*lda+k))
		w := randSlice(r, n*k)
		pw := PackWeightsBF16(w, n, k)
		for _, beta := range []float32{0, 1, -0.25} {
			buf0, win0 := guarded(r, m, n, ldc, beta != 0)
			ref, abs := sgemmBF16F64(m, n, k, a, lda, w, beta, win0, ldc)
			viaAMX := pw.kpad%amxKStep == 0 && k > 0
			var exact []float32 // sgemmBF16Ref, for weights the AMX nest does not take
			if !viaAMX {
				exact = slices.Clone(buf0)
				sgemmBF16Ref(m, n, k, a, lda, w, beta, exact[9:], ldc)
			}
			var first []float32
			for _, th := range []int{1, 2} {
				what := fmt.Sprintf("m=%d n=%d k=%d beta=%v threads=%d", m, n, k, beta, th)
				prev := SetThreads(th)
				buf := slices.Clone(buf0)
				SgemmPackedBF16(m, a, lda, pw, beta, buf[9:9+len(win0)], ldc)
				SetThreads(prev)
				if !viaAMX {
					if i := sameBits(buf, exact); i >= 0 {
						t.Fatalf("%s (VDPBF16PS nest): first difference at %d: %v, want %v", what, i, buf[i], exact[i])
					}
				} else {
					checkBF16Product(t, what, m, n, k, ldc, buf, buf0, ref, abs)
				}
				if first == nil {
					first = buf
				} else if i := sameBits(buf, first); i >= 0 {
					t.Fatalf("%s: differs from 1 thread at %d: %v vs %v", what, i, buf[i], first[i])
				}
			}
		}
	}
}

// TestSgemmPackedBF16AMXLoopNestNoAllocs: the AMX loop nest allocates
// nothing in steady state (Go twin as the kernel, 1 and 2 threads).
func TestSgemmPackedBF16AMXLoopNestNoAllocs(t *testing.T) {
	withAMXKernel(t, amxKernelGo)
	r := rand.New(rand.NewPCG(45, 46))
	m, n, k := 40, 40, 768
	a, c := randSlice(r, m*k), make([]float32, m*n)
	pw := PackWeightsBF16(randSlice(r, n*k), n, k)
	for _, th := range []int{1, 2} {
		prev := SetThreads(th)
		SgemmPackedBF16(m, a, k, pw, 0, c, n)
		if got := testing.AllocsPerRun(3, func() { SgemmPackedBF16(m, a, k, pw, 0, c, n) }); got != 0 {
			t.Errorf("threads=%d: %v allocations per call, want 0", th, got)
		}
		SetThreads(prev)
	}
}

// TestBF16PathSelection checks BF16Paths against the CPU, the default rule
// (never "amx"), SetBF16Path's errors and the FLAVABEAM_BF16_PATH handling.
func TestBF16PathSelection(t *testing.T) {
	prev := BF16Path()
	defer SetBF16Path(prev)
	paths := BF16Paths()
	if paths[0] != "go" {
		t.Fatalf("BF16Paths() = %v, want go first", paths)
	}
	if got := slices.Contains(paths, "avx512bf16"); got != bf16Native {
		t.Errorf("avx512bf16 listed: %v, CPU has AVX512_BF16: %v", got, bf16Native)
	}
	if got := slices.Contains(paths, "amx"); got != amxAvailable() {
		t.Errorf("amx listed: %v, amxAvailable: %v", got, amxAvailable())
	}
	if err := SetBF16Path(""); err != nil {
		t.Fatal(err)
	}
	want := "go"
	if bf16Native {
		want = "avx512bf16"
	}
	if BF16Path() != want || bf16UseAMX {
		t.Fatalf("default path %q (amx %v), want %q", BF16Path(), bf16UseAMX, want)
	}
	for _, name := range paths {
		if err := SetBF16Path(name); err != nil {
			t.Fatalf("SetBF16Path(%q): %v", name, err)
		}
		if BF16Path() != name || bf16UseAMX != (name == "amx") {
			t.Fatalf("after SetBF16Path(%q): path %q, amx %v", name, BF16Path(), bf16UseAMX)
		}
	}
	SetBF16Path("")
	for _, bad := range []string{"bogus", "AMX", "avx512"} {
		err := SetBF16Path(bad)
		if err == nil || !strings.Contains(err.Error(), strings.Join(paths, ", ")) {
			t.Fatalf("SetBF16Path(%q) = %v, want an error listing %v", bad, err, paths)
		}
		if BF16Path() != want {
			t.Fatalf("a failed SetBF16Path(%q) changed the path to %q", bad, BF16Path())
		}
	}
	if !amxAvailable() {
		if err := SetBF16Path("amx"); err == nil {
			t.Fatal(`SetBF16Path("amx") succeeded without AMX`)
		}
	}
	if err := applyBF16PathEnv("bogus"); err == nil || !strings.Contains(err.Error(), bf16PathEnvVar) || BF16Path() != want {
		t.Fatalf("env bogus: err %v, path %q", err, BF16Path())
	}
	if err := applyBF16PathEnv("go"); err != nil || BF16Path() != "go" {
		t.Fatalf("env go: err %v, path %q", err, BF16Path())
	}
	if err := applyBF16PathEnv(""); err != nil || BF16Path() != "go" {
		t.Fatalf("env empty: err %v, path %q (want unchanged)", err, BF16Path())
	}
	v, err := BF16PathEnv()
	if v != os.Getenv(bf16PathEnvVar) {
		t.Errorf("BF16PathEnv() = %q, environment has %q", v, os.Getenv(bf16PathEnvVar))
	}
	t.Logf("%s=%q at start-up (err %v); paths %v", bf16PathEnvVar, v, err, paths)
}

// TestBF16AsmUpToDate regenerates bf16_amd64.s with bf16_gen.go (which
// first checks every instruction encoding it writes as bytes against GNU
// as's, check and amxCheck) and requires the committed file to match.
func TestBF16AsmUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator (go run)")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	out, err := exec.Command(goTool, "run", "bf16_gen.go").Output()
	if err != nil {
		t.Fatalf("go run bf16_gen.go: %v", err)
	}
	have, err := os.ReadFile("bf16_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(have) {
		t.Fatal("bf16_amd64.s is stale: go run bf16_gen.go > bf16_amd64.s")
	}
}
