//go:build amd64 && !purego

package kernels

import (
	"debug/elf"
	"debug/gosym"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// skipWithoutAMX skips a test of the AMX assembly on a CPU (or OS) that
// cannot run it.
func skipWithoutAMX(t *testing.T) {
	t.Helper()
	if err := amxEnable(); err != nil {
		t.Skipf("AMX kernel not run: %v (needs an AMX-BF16 CPU, e.g. Intel Sapphire Rapids, on Linux)", err)
	}
}

// TestAMXKernelAsmRefusesWithoutAMX: where amxEnable fails, the assembly
// wrapper panics with a message before any tile instruction (which would
// raise SIGILL); everywhere, operands too short for the kernel panic.
func TestAMXKernelAsmRefusesWithoutAMX(t *testing.T) {
	kp := 32
	a, b, c := make([]uint16, 32*2*kp), make([]uint16, kp*2*bf16NR), make([]float32, 32*bf16NR)
	if !panics(func() { amxKernelAsm(&amxTileConfig, kp, a[:len(a)-1], 4*kp, b, c, 128, false, 1) }) {
		t.Fatal("short A: no panic")
	}
	if amxEnable() == nil {
		t.Skip("this CPU has AMX: the refusal cannot be tested here")
	}
	if !panics(func() { amxKernelAsm(&amxTileConfig, kp, a, 4*kp, b, c, 128, false, 1) }) {
		t.Fatal("no panic without the AMX tile state")
	}
}

// TestAMXKernelMatchesGo runs the assembly (kernAMXBF16) against its Go
// twin on random bf16 inputs (several blocks, wide byte strides, load and
// not, K of one to 24 tile steps, guard NaNs around C), within twice
// amxTol of the float64 product, and logs how many outputs agree bit for
// bit (the SDM leaves TDPBF16PS's internal order some latitude). Runs only
// where amxEnable succeeds.
func TestAMXKernelMatchesGo(t *testing.T) {
	skipWithoutAMX(t)
	r := rand.New(rand.NewPCG(51, 52))
	same, total := 0, 0
	for _, d := range []struct{ kp, blocks int }{{16, 1}, {32, 2}, {48, 3}, {384, 1}, {384, 4}} {
		for _, load := range []bool{false, true} {
			kp, blocks := d.kp, d.blocks
			rows, lda, ldc := amxMR*blocks, 2*kp+10, bf16NR+7
			af := randSlice(r, rows*lda)
			a := make([]uint16, len(af))
			ConvertBF16(a, af)
			bf := randSlice(r, 2*kp*bf16NR)
			b := make([]uint16, len(bf))
			ConvertBF16(b, bf)
			buf, win := guarded(r, rows, bf16NR, ldc, load)
			orig, goBuf := slices.Clone(buf), slices.Clone(buf)
			amxKernelAsm(&amxTileConfig, kp, a, 2*lda, b, win, 4*ldc, load, blocks)
			amxKernelGo(&amxTileConfig, kp, a, 2*lda, b, goBuf[9:9+len(win)], 4*ldc, load, blocks)
			what := fmt.Sprintf("kp=%d blocks=%d load=%v", kp, blocks, load)
			const guard = 9
			for i := range buf {
				row, col := (i-guard)/ldc, (i-guard)%ldc
				inC := i >= guard && i-guard < rows*ldc && col < bf16NR
				if !inC {
					if math.Float32bits(buf[i]) != math.Float32bits(goBuf[i]) {
						t.Fatalf("%s: wrote outside C at %d", what, i)
					}
					continue
				}
				var abs float64
				if load {
					abs = math.Abs(float64(orig[i]))
				}
				for p := 0; p < 2*kp; p++ {
					abs += math.Abs(float64(bf16In(a[row*lda+p])) * float64(bf16In(b[(p/2)*2*bf16NR+2*col+p%2])))
				}
				total++
				if buf[i] == goBuf[i] {
					same++
				}
				if tol := 2 * amxTol(2*kp, abs); !(math.Abs(float64(buf[i])-float64(goBuf[i])) <= tol) {
					t.Fatalf("%s: C[%d][%d] = %v (assembly), %v (Go twin), tolerance %.3g", what, row, col, buf[i], goBuf[i], tol)
				}
			}
		}
	}
	t.Logf("%d of %d outputs bit-identical to the SDM-order Go twin", same, total)
}

// TestSgemmPackedBF16AMX runs SgemmPackedBF16 on the "amx" path
// (SetBF16Path) against the float64 product of the bf16-rounded inputs
// within amxTol, and against the avx512bf16 path, on odd sizes, beta 0 and
// 1, 1 and 2 threads (which must agree bit for bit), then checks the steady
// state allocates nothing. Runs only where "amx" is in BF16Paths.
func TestSgemmPackedBF16AMX(t *testing.T) {
	skipWithoutAMX(t)
	prev := BF16Path()
	defer SetBF16Path(prev)
	r := rand.New(rand.NewPCG(53, 54))
	for _, d := range [][3]int{{1, 1, 768}, {33, 47, 768}, {197, 768, 768}, {70, 65, 1536}, {45, 33, 3072}, {300, 40, 768}, {5, 1540, 768}, {31, 31, 767}, {13, 40, 770}} {
		m, n, k := d[0], d[1], d[2]
		lda, ldc := k+3, n+5
		a := randSlice(r, (m-1)*lda+k)
		w := randSlice(r, n*k)
		pw := PackWeightsBF16(w, n, k)
		for _, beta := range []float32{0, 1} {
			buf0, win0 := guarded(r, m, n, ldc, beta != 0)
			ref, abs := sgemmBF16F64(m, n, k, a, lda, w, beta, win0, ldc)
			results := map[string][]float32{}
			for _, path := range []string{defaultBF16Path().name, "amx"} {
				if err := SetBF16Path(path); err != nil {
					t.Fatal(err)
				}
				for _, th := range []int{1, 2} {
					what := fmt.Sprintf("%s m=%d n=%d k=%d beta=%v threads=%d", path, m, n, k, beta, th)
					old := SetThreads(th)
					buf := slices.Clone(buf0)
					SgemmPackedBF16(m, a, lda, pw, beta, buf[9:9+len(win0)], ldc)
					SetThreads(old)
					checkBF16Product(t, what, m, n, k, ldc, buf, buf0, ref, abs)
					if prev, ok := results[path]; ok {
						if i := sameBits(buf, prev); i >= 0 {
							t.Fatalf("%s: differs from 1 thread at %d", what, i)
						}
					}
					results[path] = buf
				}
			}
		}
	}
	m, n, k := 197, 768, 768
	a, c := randSlice(r, m*k), make([]float32, m*n)
	pw := PackWeightsBF16(randSlice(r, n*k), n, k)
	SgemmPackedBF16(m, a, k, pw, 0, c, n)
	if got := testing.AllocsPerRun(5, func() { SgemmPackedBF16(m, a, k, pw, 0, c, n) }); got != 0 {
		t.Fatalf("amx: %v allocations per call, want 0", got)
	}
}

// TestAMXKernelDisassembly disassembles kernAMXBF16 in this test binary with
// GNU objdump and requires its tile instructions, in order, to be the ones
// bf16_gen.go meant (its comments give them in Go syntax; these are GNU's
// AT&T forms): the byte encodings are checked instruction by instruction in
// the generator, this checks the assembled whole. The function is found
// through the Go symbol table (.gopclntab, present in stripped binaries) and
// its bytes handed to objdump raw. Skipped without objdump or on non-ELF
// systems.
func TestAMXKernelDisassembly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs objdump")
	}
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Skip("no objdump in PATH")
	}
	code, err := funcCode("github.com/flavabeam/flavabeam/kernels.kernAMXBF16")
	if err != nil {
		t.Skip(err)
	}
	raw := filepath.Join(t.TempDir(), "kernAMXBF16.bin")
	if err := os.WriteFile(raw, code, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(objdump, "-D", "-b", "binary", "-m", "i386:x86-64", "--no-show-raw-insn", raw).Output()
	if err != nil {
		t.Skipf("objdump: %v", err)
	}
	var got []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.HasSuffix(f[0], ":") {
			if ins := strings.Join(f[1:], " "); strings.Contains(ins, "tile") || strings.HasPrefix(ins, "tdp") {
				got = append(got, ins)
			}
		}
	}
	want := []string{
		"ldtilecfg (%rdi)",
		"tileloadd (%r10,%rax,1),%tmm0",
		"tileloadd 0x40(%r10,%rax,1),%tmm1",
		"tileloadd (%r11,%rax,1),%tmm2",
		"tileloadd 0x40(%r11,%rax,1),%tmm3",
		"tilezero %tmm0", "tilezero %tmm1", "tilezero %tmm2", "tilezero %tmm3",
		"tileloadd (%r8,%rsi,1),%tmm4",
		"tileloadd (%r9,%rsi,1),%tmm5",
		"tileloadd (%rdx,%rbx,1),%tmm6",
		"tileloadd 0x40(%rdx,%rbx,1),%tmm7",
		"tdpbf16ps %tmm6,%tmm4,%tmm0",
		"tdpbf16ps %tmm7,%tmm4,%tmm1",
		"tdpbf16ps %tmm6,%tmm5,%tmm2",
		"tdpbf16ps %tmm7,%tmm5,%tmm3",
		"tilestored %tmm0,(%r10,%rax,1)",
		"tilestored %tmm1,0x40(%r10,%rax,1)",
		"tilestored %tmm2,(%r11,%rax,1)",
		"tilestored %tmm3,0x40(%r11,%rax,1)",
		"tilerelease",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("objdump gives\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// funcCode returns the machine code of the named function in this test
// binary (ELF only), located with the Go symbol table.
func funcCode(name string) ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f, err := elf.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		return nil, fmt.Errorf("%s: no .gopclntab or .text", exe)
	}
	data, err := pcln.Data()
	if err != nil {
		return nil, err
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return nil, err
	}
	fn := tab.LookupFunc(name)
	if fn == nil {
		fn = tab.LookupFunc(name + ".abi0")
	}
	if fn == nil {
		return nil, fmt.Errorf("%s: no function %s", exe, name)
	}
	code := make([]byte, fn.End-fn.Entry)
	if _, err := text.ReadAt(code, int64(fn.Entry-text.Addr)); err != nil {
		return nil, err
	}
	return code, nil
}
