package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/protox"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow/dataflowlib"
	"google.golang.org/protobuf/proto"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/transforms"
)

// The launch that pipelines/RUNNERS.md documents for flava-full on Dataflow.
const (
	dataflowProject     = "my-project"
	dataflowRegion      = "us-central1"
	dataflowStaging     = "gs://my-bucket/staging"
	dataflowTemp        = "gs://my-bucket/tmp"
	dataflowMachineType = "n2-standard-8"
	dataflowMaxWorkers  = 10
	dataflowDiskGB      = 50
)

// dataflowEmbedConfig is the embed job of that launch: flava-full, 8 threads
// per worker, Parquet on GCS in and out (or Kafka in and out, streaming).
func dataflowEmbedConfig(streaming bool) EmbedConfig {
	opts := transforms.EmbedOptions{}
	opts.Model = "facebook/flava-full"
	opts.Threads = 8
	opts.BatchSize = 8
	if !streaming {
		return EmbedConfig{Job: Job{
			Source: Source{Parquet: "gs://my-bucket/records/*.parquet"},
			Output: Sink{Parquet: "gs://my-bucket/embeddings"},
		}, Options: opts}
	}
	conn := kafkaio.ConnConfig{Brokers: []string{"kafka-0.internal:9092"}}
	return EmbedConfig{Job: Job{
		Source: Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{ConnConfig: conn,
			Topics: []string{"records"}, Unbounded: true, GroupID: "flavabeam-embed",
			StartFrom: kafkaio.StartCommitted, CommitOffsets: true}}},
		Output: Sink{Kafka: kafkaio.WriteConfig{ConnConfig: conn, Topic: "embeddings"}},
	}, Options: opts}
}

// translateForDataflow does offline what the Go SDK's Dataflow runner does
// before it submits (runners/dataflow.Execute): the pipeline's model proto
// with the Go SDK container as its environment, then the Dataflow v1b3 Job
// request around it, for the worker binary at worker.
func translateForDataflow(t *testing.T, p *beam.Pipeline, streaming bool, worker string) (*pipepb.Pipeline, []byte) {
	t.Helper()
	ctx := context.Background()
	edges, _, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	// The image and experiments the Dataflow runner picks itself (its
	// getContainerImage and getJobOptions for a released SDK).
	image := "gcr.io/cloud-dataflow/v1beta3/beam_go_sdk:" + core.SdkVersion
	experiments := []string{"beam_fn_api", "use_runner_v2", "use_unified_worker", "use_portable_job_submission"}
	if streaming {
		experiments = append(experiments, "enable_streaming_engine", "enable_windmill_service")
	}
	env, err := graphx.CreateEnvironment(ctx, "beam:env:docker:v1", func(context.Context) string { return image })
	if err != nil {
		t.Fatal(err)
	}
	model, err := graphx.Marshal(edges, &graphx.Options{Environment: env})
	if err != nil {
		t.Fatalf("the embed pipeline does not marshal to a Beam model proto: %v", err)
	}
	bin, err := os.ReadFile(worker)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	hash := sha256.Sum256(protox.MustEncode(model))
	job, err := dataflowlib.Translate(ctx, model, &dataflowlib.JobOptions{
		Name:          "flavabeam-embed",
		Streaming:     streaming,
		Project:       dataflowProject,
		Region:        dataflowRegion,
		MachineType:   dataflowMachineType,
		MaxNumWorkers: dataflowMaxWorkers,
		DiskSizeGb:    dataflowDiskGB,
		TempLocation:  dataflowTemp,
		Worker:        worker,
		WorkerHash:    hex.EncodeToString(sum[:]),
		Experiments:   experiments,
	}, dataflowStaging+"/job/worker", dataflowStaging+"/job/model", hex.EncodeToString(hash[:]))
	if err != nil {
		t.Fatalf("Dataflow translation: %v", err)
	}
	js, err := job.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return model, js
}

// dataflowRequirements are the pipeline requirements Dataflow's Runner v2
// accepts from the Go SDK: splittable DoFns (parquetio splits by row group,
// kafkaio by partition), bundle finalization (kafkaio's offset commits) and
// stateful processing. A requirement outside this list would make Dataflow
// reject the job at submission.
var dataflowRequirements = map[string]bool{
	"beam:requirement:pardo:splittable_dofn:v1": true,
	"beam:requirement:pardo:finalization:v1":    true,
	"beam:requirement:pardo:stateful:v1":        true,
}

func TestEmbedTranslatesForDataflow(t *testing.T) {
	worker := filepath.Join(t.TempDir(), "worker")
	if err := os.WriteFile(worker, []byte("stands in for the CGO_ENABLED=0 linux/amd64 flavabeam binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		streaming bool
		jobType   string
		stages    []string // DoFns the job must run on the workers
	}{
		{"parquet-batch", false, "JOB_TYPE_BATCH", []string{"parquetio.readFn", "transforms.embedFn", "parquetio.writeFn"}},
		{"kafka-streaming", true, "JOB_TYPE_STREAMING", []string{"kafkaio.unboundedReadFn", "transforms.embedFn", "kafkaio.writeFn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := dataflowEmbedConfig(tc.streaming)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			p, err := Embed(cfg)
			if err != nil {
				t.Fatal(err)
			}
			model, js := translateForDataflow(t, p, tc.streaming, worker)

			var job struct {
				ProjectID   string `json:"projectId"`
				Type        string `json:"type"`
				Environment struct {
					TempStoragePrefix  string   `json:"tempStoragePrefix"`
					Experiments        []string `json:"experiments"`
					SdkPipelineOptions struct {
						Options struct {
							PipelineURL string `json:"pipelineUrl"`
							Region      string `json:"region"`
						} `json:"options"`
					} `json:"sdkPipelineOptions"`
					WorkerPools []struct {
						MachineType         string `json:"machineType"`
						DiskSizeGb          int64  `json:"diskSizeGb"`
						AutoscalingSettings struct {
							MaxNumWorkers int64 `json:"maxNumWorkers"`
						} `json:"autoscalingSettings"`
						Packages []struct {
							Name, Location, Sha256 string
						} `json:"packages"`
						SdkHarnessContainerImages []struct {
							ContainerImage string `json:"containerImage"`
						} `json:"sdkHarnessContainerImages"`
					} `json:"workerPools"`
				} `json:"environment"`
			}
			if err := json.Unmarshal(js, &job); err != nil {
				t.Fatal(err)
			}
			if job.ProjectID != dataflowProject || job.Type != tc.jobType {
				t.Errorf("job project %q type %q, want %q %q", job.ProjectID, job.Type, dataflowProject, tc.jobType)
			}
			env := job.Environment
			if env.TempStoragePrefix != dataflowTemp || env.SdkPipelineOptions.Options.Region != dataflowRegion ||
				!strings.HasPrefix(env.SdkPipelineOptions.Options.PipelineURL, dataflowStaging+"/") {
				t.Errorf("job environment: temp %q, region %q, pipeline %q", env.TempStoragePrefix,
					env.SdkPipelineOptions.Options.Region, env.SdkPipelineOptions.Options.PipelineURL)
			}
			if len(env.WorkerPools) != 1 {
				t.Fatalf("%d worker pools, want 1", len(env.WorkerPools))
			}
			wp := env.WorkerPools[0]
			if wp.MachineType != dataflowMachineType || wp.DiskSizeGb != dataflowDiskGB || wp.AutoscalingSettings.MaxNumWorkers != dataflowMaxWorkers {
				t.Errorf("worker pool: machine %q disk %d GB max workers %d, want %q %d %d", wp.MachineType, wp.DiskSizeGb,
					wp.AutoscalingSettings.MaxNumWorkers, dataflowMachineType, dataflowDiskGB, dataflowMaxWorkers)
			}
			if len(wp.Packages) != 1 || wp.Packages[0].Name != "worker" || len(wp.Packages[0].Sha256) != 64 ||
				!strings.HasPrefix(wp.Packages[0].Location, dataflowStaging+"/") {
				t.Errorf("worker packages %+v, want the staged worker binary with its SHA-256", wp.Packages)
			}
			if len(wp.SdkHarnessContainerImages) != 1 || !strings.Contains(wp.SdkHarnessContainerImages[0].ContainerImage, "/beam_go_sdk:"+core.SdkVersion) {
				t.Errorf("SDK containers %+v, want the one Go SDK image", wp.SdkHarnessContainerImages)
			}

			for _, r := range model.GetRequirements() {
				if !dataflowRequirements[r] {
					t.Errorf("pipeline requirement %q is not one Dataflow Runner v2 takes from the Go SDK", r)
				}
			}
			checkDataflowModel(t, model, tc.stages)
		})
	}
}

// checkDataflowModel checks what Dataflow needs of the model proto: every
// leaf transform is a primitive it runs natively or a DoFn of the one Go SDK
// environment, every PCollection has a coder, and the named DoFns are all
// there (found in their ParDo payloads).
func checkDataflowModel(t *testing.T, model *pipepb.Pipeline, stages []string) {
	t.Helper()
	comps := model.GetComponents()
	if len(comps.GetEnvironments()) != 1 {
		t.Errorf("%d environments, want 1 (the Go SDK container)", len(comps.GetEnvironments()))
	}
	runnerPrimitives := map[string]bool{
		"beam:transform:impulse:v1":      true,
		"beam:transform:group_by_key:v1": true,
		"beam:transform:flatten:v1":      true,
	}
	var payloads strings.Builder
	for id, tr := range comps.GetTransforms() {
		if len(tr.GetSubtransforms()) > 0 {
			continue
		}
		urn := tr.GetSpec().GetUrn()
		switch {
		case runnerPrimitives[urn]:
		case tr.GetEnvironmentId() == "":
			t.Errorf("transform %s (%s, %q) has no environment", id, urn, tr.GetUniqueName())
		case urn == "beam:transform:pardo:v1":
			var pd pipepb.ParDoPayload
			if err := proto.Unmarshal(tr.GetSpec().GetPayload(), &pd); err != nil {
				t.Errorf("transform %s: ParDo payload: %v", id, err)
				continue
			}
			// A Go DoFn's payload is base64 of its serialized graph edge,
			// which names the DoFn type and holds its JSON configuration.
			fn, err := base64.StdEncoding.DecodeString(string(pd.GetDoFn().GetPayload()))
			if err != nil {
				t.Errorf("transform %s: DoFn payload: %v", id, err)
				continue
			}
			payloads.Write(fn)
		}
	}
	for id, pc := range comps.GetPcollections() {
		if _, ok := comps.GetCoders()[pc.GetCoderId()]; !ok {
			t.Errorf("PCollection %s has coder %q, not in the components", id, pc.GetCoderId())
		}
	}
	all := payloads.String()
	for _, s := range stages {
		if !strings.Contains(all, s) {
			t.Errorf("no ParDo runs %s", s)
		}
	}
	if !strings.Contains(all, "facebook/flava-full") {
		t.Error("the embed DoFn's configuration does not name facebook/flava-full")
	}
}

// TestEmbedDataflowDryRun runs the Go SDK's own Dataflow runner with
// --dry_run and the flags a real launch gives: it builds and translates the
// job and prints it instead of submitting, with no Google credentials.
func TestEmbedDataflowDryRun(t *testing.T) {
	worker := filepath.Join(t.TempDir(), "worker")
	if err := os.WriteFile(worker, []byte("stands in for the worker binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "none.json"))
	setFlags(t, map[string]string{
		"dry_run":             "true",
		"project":             dataflowProject,
		"region":              dataflowRegion,
		"staging_location":    dataflowStaging,
		"temp_location":       dataflowTemp,
		"worker_binary":       worker,
		"worker_machine_type": dataflowMachineType,
		"max_num_workers":     "10",
		"disk_size_gb":        "50",
	})
	for _, streaming := range []bool{false, true} {
		p, err := Embed(dataflowEmbedConfig(streaming))
		if err != nil {
			t.Fatal(err)
		}
		res, err := dataflow.Execute(context.Background(), p)
		if err != nil {
			t.Fatalf("streaming=%v: Dataflow dry run: %v", streaming, err)
		}
		if res != nil {
			t.Errorf("streaming=%v: a dry run returned a job result: it submitted?", streaming)
		}
	}
}

// setFlags sets global (Beam) flags for one test and restores them after.
func setFlags(t *testing.T, values map[string]string) {
	t.Helper()
	for name, v := range values {
		f := flag.Lookup(name)
		if f == nil {
			t.Fatalf("no flag --%s", name)
		}
		old := f.Value.String()
		if err := flag.Set(name, v); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = flag.Set(name, old) })
	}
}
