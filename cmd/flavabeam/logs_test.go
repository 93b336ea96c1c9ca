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

func TestFailedBundleLogsKeepThePlanForVerbose(t *testing.T) {
	defer verboseFailures.Store(false)
	plan := "bundle inst001 stage-001 failed:process bundle failed for instruction inst001 using plan stage-001 : " +
		"while executing Process for Plan[stage-001]:\n1: DataSource[S[stage-001_source@localhost:1], i0] Out:8"
	for _, verbose := range []bool{false, true} {
		verboseFailures.Store(verbose)
		var buf bytes.Buffer
		l := slog.New(quietShutdown{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})})
		l.Error("Prism received bundle error from worker response", "bundle", "inst001")
		l.Error("stage.Execute aborting due to bundle error", "stage", "stage-001", "bundle", "inst001")
		l.Error("Bundle Failed.", "error", plan)
		l.Error("job failed", "job.key", "job-001", "error", plan)
		l.Error("[SDK] process bundle failed: boom")
		out := buf.String()
		want := 1
		if verbose {
			want = 5
		}
		if n := strings.Count(out, "level=ERROR"); n != want || !strings.Contains(out, "boom") {
			t.Errorf("verbose %v: %d ERROR lines, want %d with the real failure:\n%s", verbose, n, want, out)
		}
		if !verbose && strings.Contains(out, "Plan[") {
			t.Errorf("without --verbose the plan is logged:\n%s", out)
		}
	}
}
