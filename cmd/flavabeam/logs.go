package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// shutdownNoise reports whether a log message is the Beam SDK harness
// noticing that the runner closed one of its gRPC channels (state, data,
// logging) at the end of a job: "… read bad: rpc error: code = Canceled
// desc = context canceled". Beam logs it at ERROR; it says nothing went
// wrong, and a failed run's cause is printed by execute regardless.
func shutdownNoise(msg string) bool {
	return strings.Contains(msg, "rpc error: code = Canceled desc = context canceled")
}

// verboseFailures is --verbose of the running job: failureNoise stays at
// ERROR.
var verboseFailures atomic.Bool

// failureNoise reports whether a log record is prism reporting a failed
// bundle or job: the lines that carry the execution plan ("while executing
// Process for Plan[...]", several KB) and the two that only say that a
// bundle failed. The CLI prints the failure's cause itself, once, after the
// run; with --verbose it also prints the full error, and these lines stay.
func failureNoise(r slog.Record) bool {
	switch r.Message {
	case "Prism received bundle error from worker response", "stage.Execute aborting due to bundle error":
		return true
	}
	plan := strings.Contains(r.Message, "Plan[")
	r.Attrs(func(a slog.Attr) bool {
		plan = plan || strings.Contains(a.Value.String(), "Plan[")
		return !plan
	})
	return plan
}

// quietShutdown is a slog.Handler that logs shutdownNoise, and failureNoise
// unless --verbose, at DEBUG instead of ERROR, so that a clean run logs no
// ERROR line and a failed one prints its cause first.
type quietShutdown struct{ slog.Handler }

func (h quietShutdown) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && (shutdownNoise(r.Message) || (!verboseFailures.Load() && failureNoise(r))) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietShutdown) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietShutdown{h.Handler.WithAttrs(attrs)}
}

func (h quietShutdown) WithGroup(name string) slog.Handler {
	return quietShutdown{h.Handler.WithGroup(name)}
}

var quietOnce sync.Once

// quietShutdownLogs wraps the default slog handler (set by beam.Init, used
// by prism for its own and the SDK workers' log lines) in quietShutdown.
func quietShutdownLogs() {
	quietOnce.Do(func() {
		if _, ok := slog.Default().Handler().(quietShutdown); !ok {
			slog.SetDefault(slog.New(quietShutdown{slog.Default().Handler()}))
		}
	})
}
