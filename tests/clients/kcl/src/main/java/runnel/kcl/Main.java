package runnel.kcl;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import software.amazon.awssdk.arns.Arn;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudwatch.CloudWatchAsyncClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClientBuilder;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;
import software.amazon.kinesis.common.ConfigsBuilder;
import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.common.InitialPositionInStreamExtended;
import software.amazon.kinesis.common.KinesisClientUtil;
import software.amazon.kinesis.coordinator.Scheduler;
import software.amazon.kinesis.exceptions.ShutdownException;
import software.amazon.kinesis.lifecycle.events.InitializationInput;
import software.amazon.kinesis.lifecycle.events.LeaseLostInput;
import software.amazon.kinesis.lifecycle.events.ProcessRecordsInput;
import software.amazon.kinesis.lifecycle.events.ShardEndedInput;
import software.amazon.kinesis.lifecycle.events.ShutdownRequestedInput;
import software.amazon.kinesis.metrics.MetricsLevel;
import software.amazon.kinesis.metrics.NullMetricsFactory;
import software.amazon.kinesis.processor.ShardRecordProcessor;
import software.amazon.kinesis.processor.ShardRecordProcessorFactory;
import software.amazon.kinesis.retrieval.KinesisClientRecord;
import software.amazon.kinesis.retrieval.fanout.FanOutConfig;
import software.amazon.kinesis.retrieval.polling.PollingConfig;

/**
 * The KCL scenario against runnel (see README.md beside pom.xml).
 *
 *   java runnel.kcl.Main driver   -- creates the stream, spawns worker A (a second JVM), runs
 *                                    worker B itself, produces, splits a shard, kills A with
 *                                    SIGKILL, waits for every record, then runs Check.
 *   java runnel.kcl.Main worker ID -- one Scheduler, logging what its processors see.
 *   java runnel.kcl.Main kpl STREAM PUTS.tsv -- the KPL suite's consumer (KplConsume): one
 *                                    worker reads what the KPL put and checks it.
 *
 * Configuration from the environment: RN_ENDPOINT (runnel, http:// or https://), DDB_ENDPOINT
 * (moto), KCL_MODE (polling|fanout), KCL_OUT (a directory for the logs), KCL_KEYS, KCL_ROUNDS.
 */
public final class Main {
    static final String REGION = "us-east-1";
    static final StaticCredentialsProvider CREDS =
            StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIDRUNNELTEST", "runnel-secret"));

    static String env(String k, String d) {
        String v = System.getenv(k);
        return v == null || v.isEmpty() ? d : v;
    }

    static final String MODE = env("KCL_MODE", "polling");
    static final boolean FANOUT = MODE.startsWith("fanout"); // fanout (h2c) or fanout-tls (h2 over TLS)
    static final Path OUT = Paths.get(env("KCL_OUT", "/tmp/kcl-out"));
    static final String APP = env("KCL_APP", "runnel-kcl-" + MODE);
    static final String STREAM = env("KCL_STREAM", "runnel-kcl-" + MODE);
    static final int KEYS = Integer.parseInt(env("KCL_KEYS", "100"));
    static final int ROUNDS = Integer.parseInt(env("KCL_ROUNDS", "30"));

    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("worker")) {
            worker(args[1]);
        } else if (args.length >= 1 && args[0].equals("driver")) {
            System.exit(driver());
        } else if (args.length >= 1 && args[0].equals("selftest")) {
            System.exit(Check.selfTest() & KplConsume.selfTest() ? 0 : 1);
        } else if (args.length >= 3 && args[0].equals("kpl")) {
            System.exit(KplConsume.run(args[1], Paths.get(args[2])) ? 0 : 1);
        } else if (args.length >= 1 && args[0].equals("check")) {
            System.exit(Check.run(OUT, KEYS, ROUNDS) ? 0 : 1);
        } else {
            System.err.println("usage: Main driver | worker ID | check | selftest | kpl STREAM PUTS.tsv");
            System.exit(2);
        }
    }

    // ---- clients -------------------------------------------------------------------------

    static TrustManager[] trustAll() {
        return new TrustManager[] {new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) {}
            public void checkServerTrusted(X509Certificate[] c, String a) {}
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        }};
    }

    /** Counts the Kinesis calls of this JVM by operation, and their failures by error code. */
    static final Map<String, AtomicLong> CALLS = new ConcurrentSkipListMap<>();

    static final class Counter implements ExecutionInterceptor {
        static String op(ExecutionAttributes a) {
            return a.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        }

        @Override
        public void beforeExecution(Context.BeforeExecution c, ExecutionAttributes a) {
            CALLS.computeIfAbsent(op(a), x -> new AtomicLong()).incrementAndGet();
        }

        @Override
        public void onExecutionFailure(Context.FailedExecution c, ExecutionAttributes a) {
            Throwable t = c.exception();
            while (t.getCause() != null && !(t instanceof AwsServiceException)) t = t.getCause();
            String code = t instanceof AwsServiceException ae && ae.awsErrorDetails() != null
                    ? ae.awsErrorDetails().errorCode() : t.getClass().getSimpleName();
            CALLS.computeIfAbsent(op(a) + "!" + code, x -> new AtomicLong()).incrementAndGet();
        }
    }

    /** The Kinesis client as KCL wants it (KinesisClientUtil: HTTP/2, Netty), pointed at runnel. */
    static KinesisAsyncClient kinesis() {
        URI ep = URI.create(System.getenv("RN_ENDPOINT"));
        NettyNioAsyncHttpClient.Builder http = NettyNioAsyncHttpClient.builder()
                .protocol(Protocol.HTTP2)
                .maxConcurrency(Integer.MAX_VALUE)
                .http2Configuration(h -> h.initialWindowSize(512 * 1024)
                        .healthCheckPingPeriod(Duration.ofSeconds(10)));
        if (ep.getScheme().equals("https")) {
            // runnel --tls-self-signed: a development certificate nobody signed.
            http.tlsTrustManagersProvider(Main::trustAll);
        }
        KinesisAsyncClientBuilder b = KinesisAsyncClient.builder()
                .endpointOverride(ep)
                .region(Region.of(REGION))
                .credentialsProvider(CREDS)
                .overrideConfiguration(o -> o.addExecutionInterceptor(new Counter()));
        KinesisClientUtil.adjustKinesisClientBuilder(b);
        return b.httpClientBuilder(http).build();
    }

    static DynamoDbAsyncClient dynamo() {
        return DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(System.getenv("DDB_ENDPOINT")))
                .region(Region.of(REGION))
                .credentialsProvider(CREDS)
                .build();
    }

    /** Metrics are off (NullMetricsFactory); should anything still call CloudWatch, it gets a
     *  refused connection on loopback, never AWS. */
    static CloudWatchAsyncClient cloudWatch() {
        return CloudWatchAsyncClient.builder()
                .endpointOverride(URI.create("http://127.0.0.1:9"))
                .region(Region.of(REGION))
                .credentialsProvider(CREDS)
                .build();
    }

    // ---- the worker -----------------------------------------------------------------------

    static final class Log {
        private final PrintWriter w;

        Log(Path p) throws IOException {
            BufferedWriter bw = Files.newBufferedWriter(p, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            w = new PrintWriter(bw, false);
        }

        static long now() {
            Instant i = Instant.now();
            return i.getEpochSecond() * 1_000_000_000L + i.getNano();
        }

        synchronized void line(String s) {
            w.println(s);
        }

        synchronized void flush() {
            w.flush();
        }
    }

    static final class Processor implements ShardRecordProcessor {
        final String worker;
        final Log log;
        String shard;
        long lastCheckpoint = System.nanoTime();
        String lastSeq;

        Processor(String worker, Log log) {
            this.worker = worker;
            this.log = log;
        }

        @Override
        public void initialize(InitializationInput in) {
            shard = in.shardId();
            log.line("I " + Log.now() + " " + shard + " " + in.extendedSequenceNumber());
            log.flush();
        }

        @Override
        public void processRecords(ProcessRecordsInput in) {
            for (KinesisClientRecord r : in.records()) {
                byte[] b = new byte[r.data().remaining()];
                r.data().get(b);
                // data: "<key> <counter>"; the partition key is the key.
                String d = new String(b, StandardCharsets.UTF_8);
                log.line("R " + Log.now() + " " + shard + " " + r.sequenceNumber() + " "
                        + r.partitionKey() + " " + d);
                lastSeq = r.sequenceNumber();
            }
            if (in.childShards() != null && !in.childShards().isEmpty()) {
                log.line("H " + Log.now() + " " + shard + " " + in.childShards().size());
            }
            log.flush();
            // Periodic checkpoints: every 300 ms of processing.
            if (lastSeq != null && System.nanoTime() - lastCheckpoint > 300_000_000L) {
                try {
                    // P first: a kill -9 between the checkpoint and its C line must not make the
                    // checker think the previous checkpoint is the last one (Check.java)
                    log.line("P " + Log.now() + " " + shard + " " + lastSeq);
                    log.flush();
                    in.checkpointer().checkpoint(lastSeq);
                    log.line("C " + Log.now() + " " + shard + " " + lastSeq);
                    log.flush();
                } catch (ShutdownException e) {
                    log.line("X " + Log.now() + " " + shard + " checkpoint-after-shutdown");
                    log.flush();
                } catch (Exception e) {
                    log.line("X " + Log.now() + " " + shard + " checkpoint-failed " + e);
                    log.flush();
                }
                lastCheckpoint = System.nanoTime();
            }
        }

        @Override
        public void leaseLost(LeaseLostInput in) {
            log.line("L " + Log.now() + " " + shard);
            log.flush();
        }

        @Override
        public void shardEnded(ShardEndedInput in) {
            try {
                in.checkpointer().checkpoint();
                log.line("E " + Log.now() + " " + shard);
            } catch (Exception e) {
                log.line("X " + Log.now() + " " + shard + " shard-end-checkpoint-failed " + e);
            }
            log.flush();
        }

        @Override
        public void shutdownRequested(ShutdownRequestedInput in) {
            try {
                if (lastSeq != null) {
                    log.line("P " + Log.now() + " " + shard + " " + lastSeq);
                    log.flush();
                    in.checkpointer().checkpoint(lastSeq);
                    log.line("C " + Log.now() + " " + shard + " " + lastSeq);
                }
                log.line("S " + Log.now() + " " + shard);
            } catch (Exception e) {
                log.line("X " + Log.now() + " " + shard + " shutdown-checkpoint-failed " + e);
            }
            log.flush();
        }
    }

    static String streamArn(KinesisAsyncClient k, String stream) {
        return k.describeStreamSummary(d -> d.streamName(stream)).join().streamDescriptionSummary().streamARN();
    }

    /** KCL 3's lease assignment (a leader assigns leases from the workers' metrics; the leader
     *  is elected by a lock in the coordinator-state table), tuned to be quick. Called by
     *  reflection so the same source builds against KCL 2.x, which has none of it. */
    static void kcl3Knobs(Object lease) {
        call(lease, "leaseAssignmentIntervalMillis", Long.class, 2000L);
        call(lease, "dynamoDbLockBasedLeaderLeaseDurationInMillis", long.class, 4000L);
        call(lease, "dynamoDbLockBasedLeaderHeartbeatPeriodInMillis", long.class, 1000L);
        call(lease, "leasesRecoveryAuditorExecutionFrequencyMillis", long.class, 2000L);
        Object wua = call(lease, "workerUtilizationAwareAssignmentConfig", null, null);
        if (wua != null) {
            call(wua, "inMemoryWorkerMetricsCaptureFrequencyMillis", long.class, 250L);
            call(wua, "workerMetricsReporterFreqInMillis", long.class, 1000L);
        }
        Object glh = call(lease, "gracefulLeaseHandoffConfig", null, null);
        if (glh != null) call(glh, "gracefulLeaseHandoffTimeoutMillis", long.class, 3000L);
    }

    static Object call(Object o, String name, Class<?> type, Object arg) {
        try {
            return type == null ? o.getClass().getMethod(name).invoke(o)
                    : o.getClass().getMethod(name, type).invoke(o, arg);
        } catch (NoSuchMethodException e) {
            if (KCL_MAJOR >= 3) throw new IllegalStateException("KCL 3 lacks " + name, e);
            return null;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(name, e);
        }
    }

    static final int KCL_MAJOR = kclMajor();

    static int kclMajor() {
        String v = software.amazon.kinesis.retrieval.RetrievalConfig.KINESIS_CLIENT_LIB_USER_AGENT_VERSION;
        return Integer.parseInt(v.substring(0, v.indexOf('.')));
    }

    /** The scenario's worker: KCL_MODE's retrieval, its processors logging to log. */
    static Scheduler scheduler(String workerId, KinesisAsyncClient kinesis, DynamoDbAsyncClient ddb,
                               CloudWatchAsyncClient cw, Log log) {
        // AT_TIMESTAMP an hour before the stream existed: every record, as TRIM_HORIZON.
        InitialPositionInStreamExtended start = FANOUT
                ? InitialPositionInStreamExtended.newInitialPosition(InitialPositionInStream.TRIM_HORIZON)
                : InitialPositionInStreamExtended.newInitialPositionAtTimestamp(
                        new java.util.Date(System.currentTimeMillis() - 3_600_000L));
        return scheduler(STREAM, APP, FANOUT, start, workerId, kinesis, ddb, cw, () -> new Processor(workerId, log));
    }

    /** A worker of application app on stream, tuned to be quick (the knobs below), metrics off:
     *  fan-out (SubscribeToShard) or polling (GetRecords) retrieval from start. Also used by
     *  KplConsume (the KPL suite's consumer). */
    static Scheduler scheduler(String stream, String app, boolean fanout, InitialPositionInStreamExtended start,
                               String workerId, KinesisAsyncClient kinesis, DynamoDbAsyncClient ddb,
                               CloudWatchAsyncClient cw, ShardRecordProcessorFactory processors) {
        // Fan-out names the stream by ARN (KCL then sends StreamARN), polling by name.
        ConfigsBuilder cb = fanout
                ? new ConfigsBuilder(Arn.fromString(streamArn(kinesis, stream)), app, kinesis, ddb, cw, workerId,
                        processors)
                : new ConfigsBuilder(stream, app, kinesis, ddb, cw, workerId, processors);
        var lease = cb.leaseManagementConfig()
                .failoverTimeMillis(4000)
                .shardSyncIntervalMillis(2000)
                .listShardsBackoffTimeInMillis(200);
        kcl3Knobs(lease);
        var metrics = cb.metricsConfig().metricsLevel(MetricsLevel.NONE)
                .metricsFactory(new NullMetricsFactory());
        var coordinator = cb.coordinatorConfig()
                .parentShardPollIntervalMillis(200)
                .shardConsumerDispatchPollIntervalMillis(100)
                .schedulerInitializationBackoffTimeMillis(500);
        var retrieval = cb.retrievalConfig().initialPositionInStreamExtended(start);
        if (fanout) {
            retrieval.retrievalSpecificConfig(new FanOutConfig(kinesis).streamName(stream)
                    .applicationName(app).retryBackoffMillis(200));
        } else {
            retrieval.retrievalSpecificConfig(new PollingConfig(stream, kinesis)
                    .idleTimeBetweenReadsInMillis(200).maxRecords(1000));
        }
        return new Scheduler(cb.checkpointConfig(), coordinator, lease, cb.lifecycleConfig(),
                metrics, cb.processorConfig(), retrieval);
    }

    static void worker(String id) throws Exception {
        Files.createDirectories(OUT);
        Log log = new Log(OUT.resolve("worker-" + id + ".log"));
        Scheduler s = scheduler(id, kinesis(), dynamo(), cloudWatch(), log);
        // Never outlive the driver (were it killed itself).
        ProcessHandle parent = ProcessHandle.current().parent().orElse(null);
        Thread watch = new Thread(() -> {
            while (parent == null || parent.isAlive()) {
                try { Thread.sleep(1000); } catch (InterruptedException e) { return; }
            }
            Runtime.getRuntime().halt(3);
        }, "watch-parent");
        watch.setDaemon(true);
        watch.start();
        s.run(); // until killed
    }

    // ---- the driver -----------------------------------------------------------------------

    static void say(String s) {
        System.out.println("[driver " + Instant.now() + "] " + s);
        System.out.flush();
    }

    static void waitActive(KinesisAsyncClient k) throws InterruptedException {
        for (int i = 0; i < 300; i++) {
            StreamStatus st = k.describeStreamSummary(r -> r.streamName(STREAM)).join()
                    .streamDescriptionSummary().streamStatus();
            if (st == StreamStatus.ACTIVE) return;
            Thread.sleep(100);
        }
        throw new IllegalStateException("stream not ACTIVE in 30 s");
    }

    static long countLines(Path p, char kind) {
        try {
            if (!Files.exists(p)) return 0;
            return Files.readAllLines(p, StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isEmpty() && l.charAt(0) == kind).count();
        } catch (IOException e) {
            return 0;
        }
    }

    static void produceRound(KinesisAsyncClient k, int round) throws InterruptedException {
        List<PutRecordsRequestEntry> pending = new ArrayList<>();
        for (int key = 0; key < KEYS; key++) {
            String pk = "key-" + key;
            pending.add(PutRecordsRequestEntry.builder().partitionKey(pk)
                    .data(SdkBytes.fromUtf8String(pk + " " + round)).build());
        }
        // Each key appears once per round and a round is finished (failed entries retried)
        // before the next starts, so per key the counters reach the stream in order.
        for (int attempt = 0; !pending.isEmpty(); attempt++) {
            if (attempt > 20) throw new IllegalStateException("PutRecords kept failing");
            PutRecordsResponse resp = k.putRecords(r -> r.streamName(STREAM).records(pending)).join();
            List<PutRecordsRequestEntry> again = new ArrayList<>();
            for (int i = 0; i < resp.records().size(); i++) {
                PutRecordsResultEntry e = resp.records().get(i);
                if (e.errorCode() != null) again.add(pending.get(i));
            }
            pending.clear();
            pending.addAll(again);
            if (!pending.isEmpty()) Thread.sleep(100);
        }
    }

    static long calls(String op) {
        AtomicLong n = CALLS.get(op);
        return n == null ? 0 : n.get();
    }

    static int driver() throws Exception {
        Files.createDirectories(OUT);
        Path events = OUT.resolve("driver.log");
        KinesisAsyncClient k = kinesis();
        DynamoDbAsyncClient ddb = dynamo();
        CloudWatchAsyncClient cw = cloudWatch();

        k.createStream(r -> r.streamName(STREAM).shardCount(4)).join();
        waitActive(k);
        say("KCL " + software.amazon.kinesis.retrieval.RetrievalConfig.KINESIS_CLIENT_LIB_USER_AGENT_VERSION
                + ": stream " + STREAM + " ACTIVE with 4 shards; mode " + MODE);

        // Worker A: a second JVM, killed with SIGKILL mid-way.
        List<String> cmd = List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=" + System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"),
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "worker", "A");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(OUT.resolve("worker-A.out").toFile());
        Process a = pb.start();
        Path logA = OUT.resolve("worker-A.log");
        Path logB = OUT.resolve("worker-B.log");
        long t0 = System.nanoTime();
        while (countLines(logA, 'I') == 0) {
            if (!a.isAlive()) throw new IllegalStateException("worker A exited: see worker-A.out");
            if (System.nanoTime() - t0 > 90_000_000_000L)
                throw new IllegalStateException("worker A took no lease in 90 s: see worker-A.out");
            Thread.sleep(100);
        }
        say("worker A holds leases after " + (System.nanoTime() - t0) / 1_000_000 + " ms");

        // Worker B: a Scheduler in this JVM, same application (lease table).
        Log bLog = new Log(logB);
        Scheduler b = scheduler("B", k, ddb, cw, bLog);
        Thread bt = new Thread(b, "worker-B");
        bt.setDaemon(true);
        bt.start();

        int third = ROUNDS / 3;
        int round = 1;
        for (; round <= third; round++) {
            produceRound(k, round);
            Thread.sleep(30);
        }
        // Split shard 0 in the middle of its range while the producer runs.
        Shard s0 = k.listShards(r -> r.streamName(STREAM)).join().shards().get(0);
        BigInteger lo = new BigInteger(s0.hashKeyRange().startingHashKey());
        BigInteger hi = new BigInteger(s0.hashKeyRange().endingHashKey());
        String mid = lo.add(hi).shiftRight(1).add(BigInteger.ONE).toString();
        k.splitShard(r -> r.streamName(STREAM).shardToSplit(s0.shardId()).newStartingHashKey(mid)).join();
        waitActive(k);
        Files.writeString(events, "P " + Log.now() + " " + s0.shardId() + " split\n",
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        say("split " + s0.shardId() + " after round " + (round - 1));
        for (; round <= 2 * third; round++) {
            produceRound(k, round);
            Thread.sleep(30);
        }
        // Kill A once it has processed records and checkpointed at least once.
        t0 = System.nanoTime();
        while (countLines(logA, 'C') == 0 || countLines(logA, 'R') == 0) {
            if (!a.isAlive()) throw new IllegalStateException("worker A exited: see worker-A.out");
            if (System.nanoTime() - t0 > 60_000_000_000L)
                throw new IllegalStateException("worker A checkpointed nothing in 60 s");
            Thread.sleep(100);
        }
        a.destroyForcibly(); // SIGKILL on Linux
        a.waitFor(10, TimeUnit.SECONDS);
        Files.writeString(events, "K " + Log.now() + " A\n", StandardOpenOption.APPEND);
        say("worker A killed with SIGKILL (it had processed " + countLines(logA, 'R') + " records)");
        for (; round <= ROUNDS; round++) {
            produceRound(k, round);
            Thread.sleep(30);
        }
        say("produced " + KEYS * ROUNDS + " records");

        // Wait until every record is processed.
        t0 = System.nanoTime();
        int rc = 1;
        while (System.nanoTime() - t0 < 120_000_000_000L) {
            bLog.flush();
            if (Check.allSeen(OUT, KEYS, ROUNDS)) {
                rc = 0;
                break;
            }
            Thread.sleep(250);
        }
        say(rc == 0 ? "every record processed after " + (System.nanoTime() - t0) / 1_000_000 + " ms more"
                : "timed out waiting for every record");
        try {
            b.startGracefulShutdown().get(8, TimeUnit.SECONDS);
        } catch (Exception e) {
            say("graceful shutdown of B: " + e);
            b.shutdown();
        }
        bLog.flush();
        boolean ok = Check.run(OUT, KEYS, ROUNDS);
        say("Kinesis calls in this JVM (driver and worker B; op!code = failures): " + CALLS);
        // The retrieval really was the one asked for.
        long sub = calls("SubscribeToShard"), get = calls("GetRecords");
        if (FANOUT) {
            if (sub == 0 || get != 0) {
                say("FAIL fan-out mode but SubscribeToShard " + sub + ", GetRecords " + get);
                ok = false;
            }
            var consumers = k.listStreamConsumers(r -> r.streamARN(streamArn(k, STREAM))).join().consumers();
            say("registered consumers: " + consumers);
            if (consumers.stream().noneMatch(c -> c.consumerName().equals(APP)
                    && c.consumerStatusAsString().equals("ACTIVE"))) {
                say("FAIL KCL registered no ACTIVE consumer named " + APP);
                ok = false;
            }
        } else if (get == 0 || sub != 0) {
            say("FAIL polling mode but GetRecords " + get + ", SubscribeToShard " + sub);
            ok = false;
        }
        return ok && rc == 0 ? 0 : 1;
    }

    private Main() {}
}
