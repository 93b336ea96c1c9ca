package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/io/parquetio"
	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/pipelines"
	"github.com/flavabeam/flavabeam/schemas"
	"github.com/flavabeam/flavabeam/transforms"
)

// jobFlags are the flags every job subcommand has.
type jobFlags struct {
	input, inputTopic, brokers, inputCodec, startFrom, groupID, startTime string
	unbounded, commit                                                     bool
	retryTimeout                                                          time.Duration

	output, outputTopic, deadLetters, deadLetterTopic, compression string
	shards                                                         int

	model, codebook, hubCache string
	precision                 string
	offline, noOrientation    bool
	imageBackend, imageInput  string
	batchSize, threads        int
	maxLength                 int
	maxPixels                 int64
	maxPixelsPerByte          int64
	maxDecodeMiB              int64
	maxWait                   time.Duration
	// Kafka latency versus batch size (see io/kafkaio's ReadConfig and
	// WriteConfig).
	checkpointInterval, fetchMaxWait, resumeDelay, writeBatchTimeout time.Duration

	progress time.Duration
	logLevel string

	// Set by the subcommand for the pre-flight checks (validate).
	needCodebook bool // label-mim
	labels       int  // zero-shot: the number of --candidate-labels; -1 otherwise
	verbose      bool
}

func (j *jobFlags) register(fs *flagSet) {
	fs.StringVar(&j.input, "input", "", "Parquet `glob` of input records (or use --input-topic)")
	fs.StringVar(&j.inputTopic, "input-topic", "", "Kafka `topic` of input records (instead of --input)")
	fs.StringVar(&j.brokers, "kafka-brokers", "", "Kafka bootstrap `addresses`, comma-separated (default 127.0.0.1:9092)")
	fs.StringVar(&j.inputCodec, "input-codec", "json", "Kafka payload layout: json or binary (image bytes as the value, fields in headers)")
	fs.StringVar(&j.startFrom, "start-from", "earliest", "Kafka start position: earliest, latest, committed (needs --group-id) or timestamp (needs --start-time)")
	fs.StringVar(&j.startTime, "start-time", "", "with --start-from timestamp: the RFC 3339 `time` to start reading at")
	fs.StringVar(&j.groupID, "group-id", "", "Kafka consumer `group` for --start-from committed and --commit-offsets")
	fs.BoolVar(&j.unbounded, "streaming", false, "read Kafka forever (unbounded; outputs must be Kafka topics; SIGINT or SIGTERM drains it: reads stop, what was read is written and committed, exit 0)")
	fs.BoolVar(&j.commit, "commit-offsets", false, "commit Kafka offsets to --group-id once Kafka acknowledged each record's output or dead letter")
	fs.DurationVar(&j.retryTimeout, "kafka-retry-timeout", kafkaio.DefaultRetryTimeout, "how long Kafka reads, writes and commits ride out a broker outage before the job fails")
	fs.DurationVar(&j.checkpointInterval, "kafka-checkpoint-interval", kafkaio.DefaultCheckpointInterval, "streaming: how long a partition's read keeps its bundle open after its first record before handing the records downstream (latency versus bundle size)")
	fs.DurationVar(&j.fetchMaxWait, "kafka-fetch-max-wait", 500*time.Millisecond, "how long the broker may hold a fetch while a partition has no new record (an idle partition costs one fetch per interval)")
	fs.DurationVar(&j.resumeDelay, "kafka-resume-delay", 0, "streaming: extra pause before fetching again after a fetch found nothing new (records produced meanwhile wait for it)")
	fs.DurationVar(&j.writeBatchTimeout, "kafka-batch-timeout", 5*time.Millisecond, "how long a partial produce batch waits for more records before it is sent")
	fs.StringVar(&j.output, "output", "", "output `directory` for Parquet files (or use --output-topic)")
	fs.StringVar(&j.outputTopic, "output-topic", "", "Kafka `topic` for the results, JSON payloads keyed by record id")
	fs.StringVar(&j.deadLetters, "dead-letters", "", "`directory` for dead-letter Parquet files (default: beside the output)")
	fs.StringVar(&j.deadLetterTopic, "dead-letter-topic", "", "Kafka `topic` for dead letters (default: <output-topic>"+pipelines.DeadLetterSuffix+")")
	fs.IntVar(&j.shards, "shards", 1, "number of Parquet output files")
	fs.StringVar(&j.compression, "compression", "", "output compression: Parquet snappy (default), zstd, gzip or none; Kafka none (default), gzip, snappy, lz4 or zstd")
	fs.StringVar(&j.model, "model", pretrained.TinyRandom, "model: a Hub id (facebook/flava-full), a local model directory, or tiny-random (built in, meaningless outputs)")
	fs.StringVar(&j.codebook, "codebook", "", "label-mim only: image codebook, a Hub id or directory; replaces the model's own image_codebook.* weights (default: the model's own, else facebook/flava-image-codebook, downloaded into the hub cache once)")
	fs.StringVar(&j.hubCache, "hub-cache", "", "Hugging Face hub cache `directory` (default $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)")
	fs.BoolVar(&j.offline, "offline", false, "never download: the model must be in the cache (also $HF_HUB_OFFLINE=1)")
	fs.IntVar(&j.batchSize, "batch-size", 0, "records per model batch (default 8)")
	fs.DurationVar(&j.maxWait, "max-wait", 0, "how long a partial batch waits for more records (default 50ms)")
	fs.IntVar(&j.threads, "threads", 0, "cores the model kernels use per worker (default all)")
	fs.StringVar(&j.precision, "precision", "f32", "Linear products and codebook convolutions in f32 or bf16 (bfloat16 inputs, float32 accumulation; needs AVX512_BF16 on the workers)")
	fs.IntVar(&j.maxLength, "max-length", 0, "token length texts are truncated/padded to (default 77)")
	fs.Int64Var(&j.maxPixels, "max-pixels", 0, "refuse images with more pixels than this (default PIL's limit, 89478485)")
	fs.Int64Var(&j.maxPixelsPerByte, "max-pixels-per-byte", 0, "refuse images above 1 MP declaring more pixels per encoded byte than this, before decoding: decompression bombs (default 4096; raise it for bilevel document scans)")
	fs.Int64Var(&j.maxDecodeMiB, "max-decode-mib", 0, "refuse images whose decode would need more memory than this many MiB, estimated from the header (default 1024: the bound on one decode's memory)")
	fs.BoolVar(&j.noOrientation, "ignore-orientation", false, "do not apply EXIF orientation")
	fs.StringVar(&j.imageBackend, "image-backend", "torchvision", "Hugging Face image preprocessing reproduced bit for bit: torchvision (transformers 5 FlavaImageProcessor with torchvision installed), pil (FlavaImageProcessorPil, Pillow 13) or pil-legacy (Pillow <= 12.3, transformers 4.x)")
	fs.StringVar(&j.imageInput, "image-input", "path", "what the matched Hugging Face call is given: path (EXIF applied, alpha dropped), pil-rgb (opened PIL image, do_convert_rgb=True: no EXIF, alpha on white) or pil (opened PIL image as is: non-RGB refused)")
	fs.DurationVar(&j.progress, "progress", 2*time.Second, "interval of progress lines on stderr (0: none; only when the DoFns run in this process: prism or --environment_type=LOOPBACK)")
	fs.BoolVar(&j.verbose, "verbose", false, "on failure, print the runner's full error (with the execution plan), not only its cause")
	fs.StringVar(&j.logLevel, "log-level", "warn", "Beam and prism log level: debug, info, warn or error (set by the first job in a process)")
}

func (j *jobFlags) job() (pipelines.Job, error) {
	var job pipelines.Job
	if _, err := imageproc.ParseBackend(j.imageBackend); err != nil {
		return job, fmt.Errorf("--image-backend: %w", err)
	}
	if _, err := imageproc.ParseInputKind(j.imageInput); err != nil {
		return job, fmt.Errorf("--image-input: %w", err)
	}
	conn := kafkaio.ConnConfig{}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"kafka-retry-timeout", j.retryTimeout}, {"kafka-checkpoint-interval", j.checkpointInterval},
		{"kafka-fetch-max-wait", j.fetchMaxWait}, {"kafka-resume-delay", j.resumeDelay}, {"kafka-batch-timeout", j.writeBatchTimeout},
	} {
		if d.v < 0 {
			return job, fmt.Errorf("--%s %v is negative", d.flag, d.v)
		}
	}
	if j.brokers != "" {
		conn.Brokers = strings.Split(j.brokers, ",")
	}
	job.Source.Parquet = j.input
	if j.inputTopic != "" {
		codec, err := schemas.ParseCodec(j.inputCodec)
		if err != nil {
			return job, fmt.Errorf("--input-codec: %w", err)
		}
		start := j.startFrom
		if start == kafkaio.StartEarliest {
			start = ""
		}
		var at time.Time
		if j.startTime != "" {
			if at, err = time.Parse(time.RFC3339Nano, j.startTime); err != nil {
				return job, fmt.Errorf("--start-time: %w", err)
			}
		}
		job.Source.Kafka = pipelines.KafkaSource{Codec: codec, ReadConfig: kafkaio.ReadConfig{
			ConnConfig: conn, Topics: strings.Split(j.inputTopic, ","), StartFrom: start, StartTime: at,
			GroupID: j.groupID, CommitOffsets: j.commit, Unbounded: j.unbounded, RetryTimeout: j.retryTimeout,
			CheckpointInterval: j.checkpointInterval, MaxWait: j.fetchMaxWait, ResumeDelay: j.resumeDelay,
		}}
	} else if j.unbounded {
		return job, fmt.Errorf("--streaming needs --input-topic")
	}
	pq := parquetio.WriteOptions{NumShards: j.shards}
	sink := func(dir, topic string) pipelines.Sink {
		s := pipelines.Sink{Parquet: dir}
		if dir != "" {
			s.ParquetOptions = pq
			s.ParquetOptions.Compression = j.compression
		}
		if topic != "" {
			s.Kafka = kafkaio.WriteConfig{ConnConfig: conn, Topic: topic, Compression: j.compression, RetryTimeout: j.retryTimeout,
				BatchTimeout: j.writeBatchTimeout}
		}
		return s
	}
	job.Output = sink(j.output, j.outputTopic)
	job.DeadLetters = sink(j.deadLetters, j.deadLetterTopic)
	return job, nil
}

func (j *jobFlags) options() transforms.Options {
	return transforms.Options{
		Model: j.model, CodebookSource: j.codebook, HubCacheDir: j.hubCache, Offline: j.offline,
		BatchSize: j.batchSize, MaxWait: j.maxWait, Threads: j.threads, MaxLength: j.maxLength,
		MaxPixels: j.maxPixels, MaxPixelsPerByte: j.maxPixelsPerByte, MaxDecodeBytes: j.maxDecodeMiB << 20, IgnoreOrientation: j.noOrientation, Precision: j.precision,
		ImageBackend: j.imageBackend, ImageInput: j.imageInput,
	}
}

const jobSynopsis = "(--input GLOB | --input-topic TOPIC) (--output DIR | --output-topic TOPIC) [flags]"

func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	jf := jobFlags{labels: -1}
	var vectors string
	fs := newFlagSet("embed", stderr, true, jobSynopsis)
	jf.register(fs)
	fs.StringVar(&vectors, "vectors", "", "vectors to compute, comma-separated: image, text, multimodal (default: all a record's modalities allow)")
	fs.addBeamFlags()
	if code, ok := fs.parse(args); !ok {
		return code
	}
	opts := transforms.EmbedOptions{Options: jf.options()}
	for _, v := range strings.Split(vectors, ",") {
		switch strings.TrimSpace(v) {
		case "":
		case "image":
			opts.Image = true
		case "text":
			opts.Text = true
		case "multimodal":
			opts.Multimodal = true
		default:
			fmt.Fprintf(stderr, "flavabeam embed: --vectors: unknown vector %q (want image, text or multimodal)\n", v)
			return 2
		}
	}
	return execute(ctx, "embed", fs, &jf, stdout, stderr, func(job pipelines.Job) (*beam.Pipeline, error) {
		return pipelines.Embed(pipelines.EmbedConfig{Job: job, Options: opts})
	})
}

func runScore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	jf := jobFlags{labels: -1}
	var mode, labels, template string
	var topK int
	fs := newFlagSet("score", stderr, true, jobSynopsis)
	jf.register(fs)
	fs.StringVar(&mode, "mode", pipelines.ModePairs, "pairs (each image against its own text) or zero-shot (images among labels)")
	fs.StringVar(&labels, "candidate-labels", "", "zero-shot `labels`, comma-separated, for records that carry none")
	fs.StringVar(&template, "template", "", "zero-shot prompt template with one {} (default \"a photo of a {}\")")
	fs.IntVar(&topK, "top-k", 0, "zero-shot labels kept per record (default 5; -1: all)")
	fs.addBeamFlags()
	if code, ok := fs.parse(args); !ok {
		return code
	}
	opts := transforms.ZeroShotOptions{Options: jf.options(), Template: template, TopK: topK}
	if labels != "" {
		for _, l := range strings.Split(labels, ",") {
			opts.Labels = append(opts.Labels, strings.TrimSpace(l))
		}
	}
	if mode == pipelines.ModeZeroShot {
		jf.labels = len(opts.Labels)
	}
	return execute(ctx, "score", fs, &jf, stdout, stderr, func(job pipelines.Job) (*beam.Pipeline, error) {
		return pipelines.Score(pipelines.ScoreConfig{Job: job, Mode: mode, Options: opts})
	})
}

func runLabelMIM(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	jf := jobFlags{labels: -1, needCodebook: true}
	fs := newFlagSet("label-mim", stderr, true, jobSynopsis)
	jf.register(fs)
	fs.addBeamFlags()
	if code, ok := fs.parse(args); !ok {
		return code
	}
	return execute(ctx, "label-mim", fs, &jf, stdout, stderr, func(job pipelines.Job) (*beam.Pipeline, error) {
		return pipelines.LabelMIM(pipelines.MIMConfig{Job: job, Options: jf.options()})
	})
}

// execute builds and runs a job, with progress and the summary on stderr.
func execute(ctx context.Context, name string, fs *flagSet, jf *jobFlags, stdout, stderr io.Writer, build func(pipelines.Job) (*beam.Pipeline, error)) int {
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "flavabeam %s: unexpected arguments %q\n", name, fs.Args())
		return 2
	}
	switch jf.logLevel {
	case "debug", "info", "warn", "error":
		beamlog.LogLevel = jf.logLevel
	default:
		fmt.Fprintf(stderr, "flavabeam %s: --log-level %q is not debug, info, warn or error\n", name, jf.logLevel)
		return 2
	}
	initBeam()
	quietShutdownLogs()
	job, err := jf.job()
	if err == nil {
		var p *beam.Pipeline
		if p, err = build(job); err == nil {
			// The pipeline's own Validate ran in build; now what needs the
			// file system or the hub cache, before anything is launched.
			var pf *preflight
			if pf, err = jf.validate(ctx, jf.needCodebook, jf.labels); err == nil {
				for _, n := range pf.notes {
					fmt.Fprintln(stderr, n)
				}
				return runPipeline(ctx, name, p, job, jf, stderr)
			}
		}
	}
	fmt.Fprintf(stderr, "flavabeam %s: %v\n", name, err)
	fmt.Fprintf(stderr, "Run 'flavabeam %s -h' for the flags.\n", name)
	return exitUsage
}

func runPipeline(ctx context.Context, name string, p *beam.Pipeline, job pipelines.Job, jf *jobFlags, stderr io.Writer) int {
	if jf.model == pretrained.TinyRandom {
		fmt.Fprintln(stderr, "flavabeam: using the built-in tiny-random model: its outputs are MEANINGLESS (random weights, toy size).")
		fmt.Fprintln(stderr, "flavabeam: pass --model facebook/flava-full (or a model directory) for real results.")
	} else {
		fmt.Fprintf(stderr, "flavabeam: model %s\n", jf.model)
	}
	runner := ""
	if f := flag.Lookup("runner"); f != nil {
		runner = f.Value.String()
	}
	env := ""
	if f := flag.Lookup("environment_type"); f != nil {
		env = f.Value.String()
	}
	// The DoFns run in this process on prism, and with a LOOPBACK
	// environment on any portable runner (Flink, Spark).
	local := runner == "" || runner == "prism" || strings.EqualFold(env, "LOOPBACK")
	var total int64
	if job.Source.Parquet != "" {
		if n, ok, err := pipelines.ParquetRows(job.Source.Parquet); err != nil {
			fmt.Fprintf(stderr, "flavabeam: cannot count input rows (no ETA): %v\n", err)
		} else if ok {
			total = n
			fmt.Fprintf(stderr, "flavabeam: %s: %d input records in %s\n", name, n, job.Source.Parquet)
		}
	}
	stop := func() {}
	if jf.progress > 0 {
		if local {
			stop = startProgress(stderr, jf.progress, total)
		} else {
			fmt.Fprintf(stderr, "flavabeam: runner %s: live progress needs the DoFns in this process (prism, or --environment_type=LOOPBACK); the summary comes from Beam metrics\n", runner)
		}
	}
	if job.Source.Kafka.Unbounded && local {
		setDrain(kafkaio.Drain)
		defer setDrain(nil)
	}
	verboseFailures.Store(jf.verbose)
	sum, err := pipelines.Run(ctx, p)
	stop()
	switch {
	case err == nil && job.Source.Kafka.Unbounded:
		// A signal drained the job: everything read was written and,
		// with --commit-offsets, committed.
		fmt.Fprintf(stderr, "flavabeam %s: drained and stopped.\n", name)
	case err != nil && ctx.Err() != nil && job.Source.Kafka.Unbounded:
		// A second signal, or a drain that timed out: records in flight
		// are read again after a restart from the committed offsets.
		fmt.Fprintf(stderr, "flavabeam %s: stopped.\n", name)
	case err != nil:
		fmt.Fprintf(stderr, "flavabeam %s: run failed: %s\n", name, rootCause(err))
		if jf.verbose {
			fmt.Fprintf(stderr, "flavabeam %s: the runner's full error:\n%v\n", name, err)
		} else {
			fmt.Fprintf(stderr, "flavabeam %s: (--verbose prints the runner's full error with the execution plan)\n", name)
		}
		return 1
	default:
		fmt.Fprintf(stderr, "flavabeam %s: done.\n", name)
	}
	sum.Format(stderr)
	where := func(s pipelines.Sink) string {
		if s.Parquet != "" {
			return s.Parquet
		}
		return "Kafka topic " + s.Kafka.Topic
	}
	fmt.Fprintf(stderr, "output: %s", where(job.Output))
	dead := job.DeadLetters
	if dead.Parquet == "" && dead.Kafka.Topic == "" {
		dead = job.Output
		if dead.Kafka.Topic != "" {
			dead.Kafka.Topic += pipelines.DeadLetterSuffix
		}
	}
	fmt.Fprintf(stderr, "; dead letters: %s\n", where(dead))
	if err == nil && sum.RecordsIn > 0 && sum.RecordsOut == 0 && sum.DeadLetters > 0 {
		fmt.Fprintf(stderr, "flavabeam %s: every record was dead-lettered (%d of %d); exit status %d\n", name, sum.DeadLetters, sum.RecordsIn, exitAllDead)
		return exitAllDead
	}
	return exitOK
}

// rootCause is the innermost cause of a Beam runner error: the text after
// its last "caused by:" and the "DoFn[...] failed:" line, without the
// execution plan the runner puts first.
func rootCause(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "caused by:\n"); i >= 0 {
		msg = msg[i+len("caused by:\n"):]
		if j := strings.Index(msg, "] failed:\n"); j >= 0 && strings.HasPrefix(msg, "DoFn[") {
			msg = msg[j+len("] failed:\n"):]
		}
	}
	return strings.TrimSpace(msg)
}

var (
	drainMu sync.Mutex
	drainFn func()
)

// setDrain registers how a signal drains the running streaming job (nil:
// none runs).
func setDrain(fn func()) {
	drainMu.Lock()
	defer drainMu.Unlock()
	drainFn = fn
}

// drainStreaming drains the running streaming job and reports whether
// there was one.
func drainStreaming() bool {
	drainMu.Lock()
	defer drainMu.Unlock()
	if drainFn == nil {
		return false
	}
	drainFn()
	return true
}

// startProgress prints a progress line every interval until stop is called.
func startProgress(w io.Writer, interval time.Duration, total int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				fmt.Fprintln(w, progressLine(pipelines.LiveProgress(), total, now.Sub(start)))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// progressLine formats one progress report: records handled (results plus
// dead letters), the rate, and with a known total the share and an ETA.
func progressLine(p pipelines.Progress, total int64, elapsed time.Duration) string {
	done := p.Done()
	rate := float64(done) / elapsed.Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "progress: %d", done)
	if total > 0 {
		fmt.Fprintf(&b, "/%d records (%.0f%%)", total, 100*float64(done)/float64(total))
	} else {
		b.WriteString(" records")
	}
	fmt.Fprintf(&b, ", %d out, %d dead-lettered, %.1f records/s", p.Out, p.Dead, rate)
	if total > 0 {
		if done >= total {
			b.WriteString(", finishing")
		} else if rate > 0 {
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
		} else {
			b.WriteString(", ETA unknown (nothing done yet: the job is starting or loading the model)")
		}
	}
	return b.String()
}
