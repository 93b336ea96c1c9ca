//go:build linux && amd64 && !purego

package kernels

import (
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/cpu"
)

// Linux keeps the AMX tile data state (XFEATURE_XTILEDATA, 8 KiB per
// thread) off until a process asks for it: the first tile instruction
// before arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) raises SIGILL.
const (
	archReqXcompPerm  = 0x1023
	xfeatureXtiledata = 18
)

var amx struct {
	once sync.Once
	err  error
}

// amxEnable asks the kernel, once per process, for the AMX tile state and
// reports whether tile instructions may run. Unverified: no machine this
// project ran on has AMX.
func amxEnable() error {
	amx.once.Do(func() {
		if !cpu.X86.HasAMXTile || !cpu.X86.HasAMXBF16 {
			amx.err = fmt.Errorf("kernels: this CPU has no AMX-BF16")
			return
		}
		if _, _, e := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtiledata, 0); e != 0 {
			amx.err = fmt.Errorf("kernels: arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA): %w", e)
		}
	})
	return amx.err
}
