package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs" // gs:// inputs and outputs (Dataflow)
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"           // registers every runner and its flags
)

func main() {
	// A runner starts the binary as a worker with Beam's harness flags
	// (--worker, --id, --control_endpoint, ...) and no subcommand.
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		flag.CommandLine.SetOutput(os.Stderr)
		flag.Usage = func() { usage(os.Stderr) }
		flag.Parse()
		beam.Init() // in worker mode this runs the SDK harness and exits
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := stopOnSignals(context.Background(), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// stopOnSignals returns a context for the command. SIGINT and SIGTERM (what
// Ctrl-C, containers and Kubernetes send) are handled alike: the first one
// drains a streaming Kafka job in this process (kafkaio.Drain: reads stop,
// what was read is written and committed, the job ends and the command exits
// 0) and cancels the context after drainTimeout; a second signal cancels at
// once. A command with no streaming job just cancels on the first signal.
func stopOnSignals(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
			return
		case sig := <-sigs:
			if !drainStreaming() {
				cancel()
				return
			}
			fmt.Fprintf(stderr, "flavabeam: %v: draining: reads stop, records already read are written and their offsets committed (signal again to stop at once)\n", sig)
			t := time.NewTimer(drainTimeout)
			defer t.Stop()
			select {
			case <-done:
			case <-sigs:
				fmt.Fprintln(stderr, "flavabeam: second signal: stopping now")
			case <-t.C:
				fmt.Fprintf(stderr, "flavabeam: drain did not finish within %v: stopping now\n", drainTimeout)
			}
			cancel()
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// drainTimeout bounds a drain started by a signal.
const drainTimeout = 2 * time.Minute

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"embed", "embed records (image, text and multimodal vectors)", runEmbed},
	{"score", "score image–text pairs, or classify images zero-shot", runScore},
	{"label-mim", "compute masked-image-modelling labels (codebook tokens + masks)", runLabelMIM},
	{"download", "download a model (and the image codebook) into the Hugging Face cache", runDownload},
	{"inspect", "summarise a checkpoint file or model directory", runInspect},
}

// run executes the subcommand args[0] and returns the exit code: 0 success,
// 1 failure, 2 usage or configuration error, 3 every record dead-lettered
// (see exitCodesHelp).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "flavabeam: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: flavabeam <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'flavabeam <command> -h' for the command's flags.")
	fmt.Fprintln(w, "Example: flavabeam embed --input testdata/records.parquet --output /tmp/flavabeam-out")
	fmt.Fprintln(w)
	fmt.Fprintln(w, exitCodesHelp)
}

// flagSet is a subcommand's flags: its own, then Beam's forwarded.
type flagSet struct {
	*flag.FlagSet
	own map[string]bool
}

// newFlagSet returns the flag set of a subcommand. With beamFlags, the usage
// text lists Beam's flags too, which addBeamFlags forwards once the
// subcommand's own flags are defined.
func newFlagSet(name string, stderr io.Writer, beamFlags bool, synopsis string) *flagSet {
	fs := &flagSet{flag.NewFlagSet("flavabeam "+name, flag.ContinueOnError), map[string]bool{}}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: flavabeam %s %s\n\nflags:\n", name, synopsis)
		printFlags(stderr, fs.FlagSet, func(f *flag.Flag) bool { return fs.own[f.Name] })
		if beamFlags {
			fmt.Fprintln(stderr, "\nBeam flags (see the Beam Go SDK; the default runner is prism, in-process):")
			printFlags(stderr, fs.FlagSet, func(f *flag.Flag) bool { return !fs.own[f.Name] })
			fmt.Fprintln(stderr)
			fmt.Fprintln(stderr, exitCodesHelp)
		}
	}
	return fs
}

// addBeamFlags forwards every flag on the global set (Beam's: --runner,
// --endpoint, --project, ...) into fs, after fs's own flags are defined:
// setting one sets the global flag through flag.CommandLine.Set, so Beam
// reads the value and sees the flag as set (flag.Visit), as if flag.Parse
// had read it.
func (fs *flagSet) addBeamFlags() {
	fs.VisitAll(func(f *flag.Flag) { fs.own[f.Name] = true })
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if fs.own[f.Name] || strings.HasPrefix(f.Name, "test.") {
			return
		}
		fs.Var(globalFlag{f}, f.Name, f.Usage)
	})
}

// parse parses args; it returns the exit code to use when parsing ended
// the command (help: 0, bad flags: 2) and ok false.
func (fs *flagSet) parse(args []string) (code int, ok bool) {
	if len(fs.own) == 0 {
		fs.VisitAll(func(f *flag.Flag) { fs.own[f.Name] = true })
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

func printFlags(w io.Writer, fs *flag.FlagSet, keep func(*flag.Flag) bool) {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if keep(f) {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		typ, use := flag.UnquoteUsage(f)
		line := "  --" + n
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(use, "\n", "\n    \t"))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); !isString {
					fmt.Fprintf(w, " (default %s)", f.DefValue)
					fmt.Fprintln(w)
					continue
				}
			}
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintln(w)
	}
}

// globalFlag forwards a flag of the global set.
type globalFlag struct{ f *flag.Flag }

func (g globalFlag) String() string {
	if g.f == nil {
		return ""
	}
	return g.f.Value.String()
}

func (g globalFlag) Set(v string) error { return flag.CommandLine.Set(g.f.Name, v) }

func (g globalFlag) IsBoolFlag() bool {
	b, ok := g.f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

var initOnce sync.Once

// initBeam runs beam.Init once, after the flags are parsed.
func initBeam() { initOnce.Do(beam.Init) }
