// FlavabeamFlinkJobServer is Beam's Flink job server (FlinkJobServerDriver,
// same arguments) with default pipeline options for every job it runs.
//
// Why: the Beam Go SDK sends the Java runner only a fixed set of top-level
// options (runner, app name, experiments, parallelism, ...); every other Go
// flag travels inside beam:option:go_options:v1, which the Java side never
// reads. So a Go pipeline cannot set FlinkPipelineOptions such as
// checkpointingInterval. Without it, Beam 2.50's Flink runner treats
// checkpointing as off and sets shutdownSourcesAfterIdleMs to 0: the Impulse
// source finishes at once, the Kafka stage sees the end of its input, and no
// checkpoint ever completes, whatever execution.checkpointing.interval the
// cluster configuration says.
//
// Each system property flavabeam.option.<snake_case_name>=<value> becomes the
// pipeline option beam:option:<snake_case_name>:v1 of a job that did not set
// it itself, e.g. -Dflavabeam.option.checkpointing_interval=10000.
//
// Compiled and started by scripts/flink/cluster.sh against the class path of
// org.apache.beam:beam-runners-flink-1.16:2.50.0.
import java.util.Map;
import java.util.TreeMap;

import org.apache.beam.model.pipeline.v1.RunnerApi;
import org.apache.beam.runners.flink.FlinkJobInvoker;
import org.apache.beam.runners.flink.FlinkJobServerDriver;
import org.apache.beam.runners.jobsubmission.JobInvocation;
import org.apache.beam.vendor.grpc.v1p54p0.com.google.protobuf.Struct;
import org.apache.beam.vendor.grpc.v1p54p0.com.google.protobuf.Value;
import org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.util.concurrent.ListeningExecutorService;

public final class FlavabeamFlinkJobServer {
  private static final String PREFIX = "flavabeam.option.";

  public static void main(String[] args) throws Exception {
    Map<String, String> defaults = new TreeMap<>();
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith(PREFIX) && name.length() > PREFIX.length()) {
        defaults.put(name.substring(PREFIX.length()), System.getProperty(name));
      }
    }
    System.err.println("FlavabeamFlinkJobServer: default pipeline options " + defaults);
    FlinkJobServerDriver.FlinkServerConfiguration conf = FlinkJobServerDriver.parseArgs(args);
    FlinkJobServerDriver.fromConfig(conf, () -> new DefaultingInvoker(conf, defaults)).run();
  }

  private static final class DefaultingInvoker extends FlinkJobInvoker {
    private final Map<String, String> defaults;

    DefaultingInvoker(FlinkJobServerDriver.FlinkServerConfiguration conf, Map<String, String> defaults) {
      super(conf);
      this.defaults = defaults;
    }

    @Override
    protected JobInvocation invokeWithExecutor(
        RunnerApi.Pipeline pipeline, Struct options, String retrievalToken, ListeningExecutorService executor) {
      Struct.Builder b = options.toBuilder();
      for (Map.Entry<String, String> e : defaults.entrySet()) {
        String key = "beam:option:" + e.getKey() + ":v1";
        Value v = b.getFieldsOrDefault(key, null);
        if (v == null || v.hasNullValue()) {
          b.putFields(key, Value.newBuilder().setStringValue(e.getValue()).build());
        }
      }
      return super.invokeWithExecutor(pipeline, b.build(), retrievalToken, executor);
    }
  }
}
