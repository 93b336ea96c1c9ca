package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestQuietShutdownDowngradesOnlyChannelCancellation(t *testing.T) {
	var buf bytes.Buffer
	for _, level := range []slog.Level{slog.LevelWarn, slog.LevelDebug} {
		buf.Reset()
		l := slog.New(quietShutdown{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})})
		l.Error("[SDK] StateChannel[localhost:1].read bad: rpc error: code = Canceled desc = context canceled")
		l.Error("[SDK] process bundle failed: boom")
		l.With("k", "v").Error("DataChannel read bad: rpc error: code = Canceled desc = context canceled")
		out := buf.String()
		if n := strings.Count(out, "level=ERROR"); n != 1 || !strings.Contains(out, "boom") {
			t.Errorf("level %v: want only the real failure at ERROR, got:\n%s", level, out)
		}
		debug := strings.Count(out, "level=DEBUG")
		if want := map[slog.Level]int{slog.LevelWarn: 0, slog.LevelDebug: 2}[level]; debug != want {
			t.Errorf("level %v: %d DEBUG lines, want %d:\n%s", level, debug, want, out)
		}
	}
}
