//go:build linux && amd64 && !purego

package kernels

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestAMXCeilingLoop: without AMX-BF16, amxEnable must refuse (so the
// ceiling loop never runs); with it, the kernel must grant the tile state
// and the loop must run and count its flops. Only the first half has run
// (no machine here has AMX).
func TestAMXCeilingLoop(t *testing.T) {
	if !cpu.X86.HasAMXTile || !cpu.X86.HasAMXBF16 {
		if amxEnable() == nil {
			t.Fatal("amxEnable succeeded on a CPU without AMX-BF16")
		}
		if f := fmaPeakISA("amx-bf16", 10); f != 0 {
			t.Fatalf("amx-bf16 loop reported %v flops without AMX", f)
		}
		return
	}
	if err := amxEnable(); err != nil {
		t.Fatalf("CPU has AMX-BF16 but: %v", err)
	}
	if f := fmaPeakISA("amx-bf16", 10); f != 10*65536 {
		t.Fatalf("amx-bf16 loop: %v flops, want %v", f, 10*65536)
	}
}
