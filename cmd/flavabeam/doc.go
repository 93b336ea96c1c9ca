// Command flavabeam runs FLAVA over image–text records in Apache Beam
// pipelines, and fetches and inspects the checkpoints it uses.
//
//	flavabeam embed     --input 'data/*.parquet' --output out/   # embeddings
//	flavabeam score     --input ... --output ... [--mode zero-shot]
//	flavabeam label-mim --input ... --output ...
//	flavabeam download  [facebook/flava-full]                     # into the HF cache
//	flavabeam inspect   PATH                                      # checkpoint summary
//
// The job subcommands take their own flags and every flag Beam registers
// (--runner, --endpoint, --environment_type, --job_endpoint, --project,
// --region, --staging_location, --worker_binary, ...), after the subcommand
// name. Beam's flags are set through the global flag set, so Beam sees them
// as set (flag.Visit) exactly as if flag.Parse had read them, and beam.Init
// runs once after parsing. Started by a runner as a worker (--worker, no
// subcommand), the binary parses the global flags, and beam.Init runs the
// SDK harness and exits.
//
// Without --model the built-in tiny-random model runs, with no download; its
// vectors are meaningless and the command says so on stderr. Bounded jobs
// print progress on stderr (records/s, and an ETA when the input is local
// Parquet, whose row counts are read from the file footers first) and end
// with a summary from the pipeline's Beam metrics. Live progress comes from
// process-local counters and so only moves when the DoFns run in this
// process: on prism (the default) or with --environment_type=LOOPBACK.
//
// Before a job is launched, validate checks what can be checked from the
// launching machine — the model and codebook sources (pretrained.Identify
// reads config.json's model_type and architectures), the --input glob, the
// output directories, where zero-shot labels come from — and a failed check
// exits 2 with one line naming the flag. Exit statuses: 0 done, 1 the run
// failed, 2 usage or configuration, 3 every record read was dead-lettered
// (outputs written).
//
// The gs:// filesystem is linked in, so inputs and outputs may be on Google
// Cloud Storage (Dataflow); see pipelines/RUNNERS.md.
//
// It imports pipelines, transforms' option types, model/{pretrained,hub,
// checkpoint,flava,imageproc}, Beam and parquet-go (to read input footers);
// nothing imports it. It does not implement
// runners, and it does not read configuration files: flags only.
package main
