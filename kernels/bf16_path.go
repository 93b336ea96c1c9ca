package kernels

import (
	"fmt"
	"os"
	"strings"
)

// bf16Path is one way SgemmPackedBF16 can run its products.
type bf16Path struct {
	name string
	kern bf16KernelFunc // the VDPBF16PS-contract micro-kernel
	amx  amxKernelFunc  // non-nil: the AMX loop nest, kern for what it cannot take
}

// bf16PathsAvailable lists the bf16 paths this CPU can run, narrowest
// first: "go", "avx512bf16" where the CPU has AVX512_BF16, "amx" where
// amxEnable succeeds (the CPU has AMX-BF16 and Linux granted the tile
// state; the first call asks for it).
func bf16PathsAvailable() []bf16Path {
	ps := bf16ArchPaths()
	if amxAvailable() {
		ps = append(ps, bf16Path{name: "amx", kern: ps[len(ps)-1].kern, amx: amxAsm})
	}
	return ps
}

// defaultBF16Path is the rule for bf16 products: "avx512bf16" (VDPBF16PS)
// where the CPU has AVX512_BF16, else "go". "amx" is never chosen by
// default: its kernel was written without a machine that has AMX and no
// test or benchmark has run it. An AMX machine must first pass
// TestAMXKernelMatchesGo and TestSgemmPackedBF16AMX and show a gain in
// BenchmarkSgemmBF16 (doc.go has the commands); then this rule may prefer
// "amx".
func defaultBF16Path() bf16Path {
	ps := bf16ArchPaths() // narrowest first, no AMX
	return ps[len(ps)-1]
}

// BF16Paths names the bf16 product paths this CPU can run, narrowest first:
// "go" (the plain-Go emulation) always, "avx512bf16" (the VDPBF16PS
// micro-kernel) where the CPU has AVX512_BF16, and "amx" (TDPBF16PS tiles)
// where the CPU has AMX-BF16 and, on Linux, the kernel grants the tile
// state (asked for once per process, by the first call of BF16Paths or
// SetBF16Path("amx")).
func BF16Paths() []string {
	ps := bf16PathsAvailable()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
	}
	return names
}

// bf16PathName names the path in use.
var bf16PathName = "go"

// BF16Path names the bf16 product path in use (one of BF16Paths()).
func BF16Path() string { return bf16PathName }

// SetBF16Path selects the bf16 product path of SgemmPackedBF16 and
// LinearPackedBF16 by name (one of BF16Paths(); "" restores the default
// rule, see defaultBF16Path) and returns an error naming the available ones
// otherwise. Call it before any product runs (it is not synchronised with
// running products): it is meant for benchmarks, tests, and verifying
// "amx" on a machine that has it.
//
// "amx" is opt-in and unverified. It runs the AMX loop nest (32×32 blocks
// of C, TDPBF16PS on tiles) for weights whose even-padded input dimension
// is a multiple of 32 (every K slice then a whole number of 32-deep tile
// steps: FLAVA's 768 and 3072 are) and the VDPBF16PS kernel for the others
// and for Conv2DNHWCBF16. Its results are not bit-identical to the other
// paths: TDPBF16PS sums the even and odd products of 16 pairs separately
// before adding them to C.
func SetBF16Path(name string) error {
	if name == "" {
		setBF16Path(defaultBF16Path())
		return nil
	}
	ps := bf16ArchPaths()
	if name == "amx" {
		ps = bf16PathsAvailable()
	}
	for _, p := range ps {
		if p.name == name {
			setBF16Path(p)
			return nil
		}
	}
	return fmt.Errorf("kernels: bf16 path %q not available on this CPU (have %s)", name, strings.Join(BF16Paths(), ", "))
}

func setBF16Path(p bf16Path) {
	bf16Kernel, bf16PathName = p.kern, p.name
	bf16UseAMX = p.amx != nil
	if p.amx != nil {
		amxKernel = p.amx
	}
}

// bf16PathEnvVar names the environment variable read once at start-up: a
// path name for SetBF16Path, so that an operator can run a program (the
// model benchmarks, a pipeline) on another bf16 path, "amx" in particular,
// without changing code.
const bf16PathEnvVar = "FLAVABEAM_BF16_PATH"

var bf16Env struct {
	value string
	err   error
}

func init() {
	setBF16Path(defaultBF16Path())
	bf16Env.value = os.Getenv(bf16PathEnvVar)
	bf16Env.err = applyBF16PathEnv(bf16Env.value)
}

// applyBF16PathEnv applies a value of FLAVABEAM_BF16_PATH: "" changes
// nothing; a path this CPU cannot run is ignored (the default rule stays)
// and the error says why.
func applyBF16PathEnv(v string) error {
	if v == "" {
		return nil
	}
	if err := SetBF16Path(v); err != nil {
		return fmt.Errorf("kernels: %s=%q ignored: %w", bf16PathEnvVar, v, err)
	}
	return nil
}

// BF16PathEnv reports the value of FLAVABEAM_BF16_PATH read at start-up
// and, when it named no path this CPU can run, the error saying why it was
// ignored (the default rule then applies; the package logs nothing).
// FLAVABEAM_BF16_PATH=amx runs bf16 products on AMX where BF16Paths offers
// it, as SetBF16Path("amx") would.
func BF16PathEnv() (value string, err error) { return bf16Env.value, bf16Env.err }
