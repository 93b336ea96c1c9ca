//go:build !amd64 || purego

package kernels

var bf16Native = false

// bf16ArchPaths: only the plain-Go kernel in this build.
func bf16ArchPaths() []bf16Path { return []bf16Path{{name: "go", kern: bf16KernelGo}} }

// amxAvailable: no AMX kernel in this build.
func amxAvailable() bool { return false }

// amxAsm: no AMX kernel in this build (amxAvailable is false, so the "amx"
// path is never offered).
var amxAsm amxKernelFunc
