package dev.tributary.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.query.KeyQuery;
import org.apache.kafka.streams.query.Position;
import org.apache.kafka.streams.query.PositionBound;
import org.apache.kafka.streams.query.QueryResult;
import org.apache.kafka.streams.query.StateQueryRequest;
import org.apache.kafka.streams.query.StateQueryResult;
import org.apache.kafka.streams.state.ValueAndTimestamp;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The Kafka Streams side of `npm run bench -- --vs-kafka-streams`: one of four workloads over the benchmark's topics,
 * the counterpart of scripts/bench/tributary-worker.ts. Prints one JSON object per line on stdout (the harness reads
 * them; logs go to stderr):
 *
 *   {"event":"starting"}  right before KafkaStreams#start (the harness takes time and CPU from here)
 *   {"event":"running"}   state RUNNING
 *   {"event":"ready"}     global-table: the global store is bootstrapped (RUNNING);
 *                         table: every partition of the table store has applied the topic's last offset (IQv2 position)
 *   {"event":"failed","message":...}
 *   {"event":"stopped"}   after a graceful close (SIGTERM)
 *
 *   java -Xmx1g -cp <classes>:<libs>/* dev.tributary.bench.KafkaStreamsBench <workload> --brokers h:p
 *     --application-id id --state-dir dir --customers-topic t --orders-topic t --output-topic t
 *     [--threads 1] [--commit-interval-ms 1000]
 *
 * Workloads: global-table, table, global-join, copartitioned-join. Serdes: string keys, JSON values through Jackson's
 * tree model (parse into JsonNode, write back with writeValueAsBytes), like Tributary's Serdes.json(). The table is
 * built with topology.optimization=all so it uses the source topic as its changelog, as Tributary does (no extra
 * changelog topic is written).
 */
public final class KafkaStreamsBench {
    static final String GLOBAL_STORE = "customers-global";
    static final String TABLE_STORE = "customers";
    static final String REPARTITION_NAME = "orders-by-customer";

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private KafkaStreamsBench() {
    }

    /** JSON values as Jackson trees: the counterpart of JSON.parse / JSON.stringify on the Tributary side. */
    static final class JsonNodeSerde implements Serde<JsonNode> {
        @Override
        public Serializer<JsonNode> serializer() {
            return (topic, value) -> {
                if (value == null) return null;
                try {
                    return MAPPER.writeValueAsBytes(value);
                } catch (IOException e) {
                    throw new IllegalStateException("cannot write JSON", e);
                }
            };
        }

        @Override
        public Deserializer<JsonNode> deserializer() {
            return (topic, bytes) -> {
                if (bytes == null) return null;
                try {
                    return MAPPER.readTree(bytes);
                } catch (IOException e) {
                    throw new IllegalStateException("not valid JSON", e);
                }
            };
        }
    }

    /** Same fields and order as examples/order-enrichment.ts's enrich(): the order, customer {name, tier, country}, customerVersion. */
    static JsonNode enrich(final JsonNode order, final JsonNode customer) {
        final ObjectNode out = MAPPER.createObjectNode();
        out.setAll((ObjectNode) order);
        final ObjectNode summary = out.putObject("customer");
        summary.set("name", customer.get("name"));
        summary.set("tier", customer.get("tier"));
        summary.set("country", customer.get("country"));
        out.set("customerVersion", customer.get("version"));
        return out;
    }

    static Topology topology(final String workload, final Map<String, String> args, final Properties props) {
        final StreamsBuilder builder = new StreamsBuilder();
        final Serde<String> keys = Serdes.String();
        final Serde<JsonNode> json = new JsonNodeSerde();
        final String customers = args.get("customers-topic");
        switch (workload) {
            case "global-table":
                builder.globalTable(customers, Consumed.with(keys, json), Materialized.as(GLOBAL_STORE));
                break;
            case "table":
                builder.table(customers, Consumed.with(keys, json), Materialized.as(TABLE_STORE));
                break;
            case "global-join": {
                final GlobalKTable<String, JsonNode> table =
                    builder.globalTable(customers, Consumed.with(keys, json), Materialized.as(GLOBAL_STORE));
                final KStream<String, JsonNode> orders = builder.stream(args.get("orders-topic"), Consumed.with(keys, json));
                orders.join(table, (orderId, order) -> order.get("customerId").asText(), KafkaStreamsBench::enrich)
                    .to(args.get("output-topic"), Produced.with(keys, json));
                break;
            }
            case "copartitioned-join": {
                final KTable<String, JsonNode> table =
                    builder.table(customers, Consumed.with(keys, json), Materialized.as(TABLE_STORE));
                final KStream<String, JsonNode> orders = builder.stream(args.get("orders-topic"), Consumed.with(keys, json));
                orders.selectKey((orderId, order) -> order.get("customerId").asText())
                    .join(table, KafkaStreamsBench::enrich, Joined.with(keys, json, json, REPARTITION_NAME))
                    .to(args.get("output-topic"), Produced.with(keys, json));
                break;
            }
            default:
                throw new IllegalArgumentException("unknown workload \"" + workload + "\": use global-table, table, global-join or copartitioned-join");
        }
        return builder.build(props);
    }

    static Properties config(final Map<String, String> args) {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("application-id"));
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("brokers"));
        // Short client id: thread names ("ks-StreamThread-1", "ks-GlobalStreamThread") survive Linux's 15-character
        // limit, so the harness can tell them apart in /proc/<pid>/task.
        props.put(StreamsConfig.CLIENT_ID_CONFIG, "ks");
        props.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args.getOrDefault("threads", "1")));
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(args.getOrDefault("commit-interval-ms", "1000")));
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        // The table reads its source topic as changelog (Tributary restores from the source topic too).
        props.put(StreamsConfig.TOPOLOGY_OPTIMIZATION_CONFIG, StreamsConfig.OPTIMIZE);
        props.put(StreamsConfig.producerPrefix(ProducerConfig.ACKS_CONFIG), "all");
        return props;
    }

    /** The last offset (end - 1) of every non-empty partition of `topic`. */
    static Position lastOffsets(final String brokers, final String topic) throws Exception {
        final Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        try (Admin admin = Admin.create(props)) {
            final TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            final Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            for (final TopicPartitionInfo info : description.partitions()) request.put(new TopicPartition(topic, info.partition()), OffsetSpec.latest());
            final Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = admin.listOffsets(request).all().get();
            final Map<Integer, Long> last = new HashMap<>();
            ends.forEach((tp, info) -> {
                if (info.offset() > 0) last.put(tp.partition(), info.offset() - 1);
            });
            return Position.fromMap(Map.of(topic, last));
        }
    }

    /** True when every store partition's position (what it has applied) reached `bound`. */
    static boolean caughtUp(final KafkaStreams streams, final Position bound, final int partitions) {
        final StateQueryRequest<ValueAndTimestamp<JsonNode>> request = StateQueryRequest.inStore(TABLE_STORE)
            .withQuery(KeyQuery.<String, ValueAndTimestamp<JsonNode>>withKey("~position-probe"))
            .withPositionBound(PositionBound.at(bound));
        final StateQueryResult<ValueAndTimestamp<JsonNode>> result = streams.query(request);
        final Map<Integer, QueryResult<ValueAndTimestamp<JsonNode>>> byPartition = result.getPartitionResults();
        if (byPartition.size() < partitions) return false;
        return byPartition.values().stream().allMatch(QueryResult::isSuccess);
    }

    static void emit(final String json) {
        synchronized (System.out) {
            System.out.println(json);
            System.out.flush();
        }
    }

    static String quote(final String text) {
        return MAPPER.getNodeFactory().textNode(text).toString();
    }

    static Map<String, String> parseArgs(final String[] argv) {
        final Map<String, String> args = new HashMap<>();
        for (int i = 1; i < argv.length; i++) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new IllegalArgumentException("expected --name value, got " + argv[i]);
            args.put(argv[i].substring(2), argv[++i]);
        }
        for (final String required : List.of("brokers", "application-id", "state-dir", "customers-topic")) {
            if (!args.containsKey(required)) throw new IllegalArgumentException("--" + required + " is required");
        }
        return args;
    }

    public static void main(final String[] argv) throws Exception {
        if (argv.length < 1) {
            System.err.println("usage: KafkaStreamsBench <global-table|table|global-join|copartitioned-join> --brokers h:p --application-id id --state-dir dir --customers-topic t [--orders-topic t --output-topic t] [--threads n] [--commit-interval-ms n]");
            System.exit(2);
        }
        final String workload = argv[0];
        final Map<String, String> args = parseArgs(argv);
        final Properties props = config(args);
        final Topology topology = topology(workload, args, props);
        final Position bound = workload.equals("table") ? lastOffsets(args.get("brokers"), args.get("customers-topic")) : null;
        final int boundPartitions = bound == null ? 0 : bound.getPartitionPositions(args.get("customers-topic")).size();

        final KafkaStreams streams = new KafkaStreams(topology, props);
        final CountDownLatch running = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);
        streams.setUncaughtExceptionHandler(error -> {
            emit("{\"event\":\"failed\",\"message\":" + quote(String.valueOf(error)) + "}");
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.setStateListener((to, from) -> {
            if (to == KafkaStreams.State.RUNNING) running.countDown();
            if (to == KafkaStreams.State.ERROR || to == KafkaStreams.State.NOT_RUNNING) done.countDown();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(30));
            emit("{\"event\":\"stopped\"}");
        }, "bench-shutdown"));

        emit("{\"event\":\"starting\",\"workload\":" + quote(workload) + ",\"topology\":" + quote(topology.describe().toString()) + "}");
        final long started = System.nanoTime();
        streams.start();
        while (!running.await(20, TimeUnit.MILLISECONDS)) {
            if (done.getCount() == 0) {
                emit("{\"event\":\"failed\",\"message\":" + quote("state " + streams.state() + " before RUNNING") + "}");
                System.exit(1);
            }
        }
        final long runningMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        emit("{\"event\":\"running\",\"startToRunningMs\":" + runningMs + "}");
        if (workload.equals("global-table")) {
            emit("{\"event\":\"ready\",\"startToReadyMs\":" + runningMs + "}");
        } else if (workload.equals("table")) {
            // Poll the store's IQv2 position every 20 ms until every partition applied its last offset.
            while (!caughtUp(streams, bound, boundPartitions)) {
                if (done.getCount() == 0) System.exit(1);
                Thread.sleep(20);
            }
            emit("{\"event\":\"ready\",\"startToReadyMs\":" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) + "}");
        }
        done.await();
        if (streams.state() == KafkaStreams.State.ERROR) System.exit(1);
    }
}
