//go:build !linux && amd64 && !purego

package kernels

import "errors"

// amxEnable: AMX is only requested on Linux (arch_prctl); elsewhere it is
// reported unavailable.
func amxEnable() error { return errors.New("kernels: AMX is only enabled on Linux") }
