package runnel;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.*;
import java.util.concurrent.*;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.SdkHttpConfigurationOption;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.*;
import software.amazon.awssdk.utils.AttributeMap;

/**
 * The AWS SDK for Java v2 against runnel: each check prints PASS or FAIL; exit 1 on any FAIL.
 * Env: RN_ENDPOINT (runnel with --tls-self-signed --subscription-lifetime --kms-strict), RN_CLOCK_ENDPOINT (a fresh
 * runnel with --enable-test-clock),
 * RN_LIMITS_ENDPOINT (runnel with --enforce-limits --credentials).
 */
public final class Main {
    static int passed, failed;
    static final String ACCOUNT = "000000000000";
    static final String MODE = Boolean.parseBoolean(System.getProperty("aws.cborEnabled", "true")) ? "cbor" : "json";

    interface Body { void run() throws Exception; }

    static void check(String name, Body b) {
        try {
            b.run();
            passed++;
            System.out.println("PASS " + MODE + " " + name);
        } catch (Throwable t) {
            failed++;
            System.out.println("FAIL " + MODE + " " + name + ": " + t);
            t.printStackTrace(System.out);
        }
    }

    static void ok(boolean cond, String what) { if (!cond) throw new AssertionError(what); }
    static void eq(Object want, Object got, String what) {
        if (!Objects.equals(want, got)) throw new AssertionError(what + ": want <" + want + "> got <" + got + ">");
    }

    static <E extends AwsServiceException> E expect(Class<E> type, int status, String message, Body b) throws Exception {
        try {
            b.run();
        } catch (AwsServiceException e) {
            if (!type.isInstance(e)) throw new AssertionError("want " + type.getSimpleName() + " got " + e.getClass().getName() + ": " + e);
            eq(status, e.statusCode(), type.getSimpleName() + " statusCode");
            if (message != null) eq(message, e.awsErrorDetails().errorMessage(), type.getSimpleName() + " message");
            return type.cast(e);
        }
        throw new AssertionError("no " + type.getSimpleName() + " thrown");
    }

    static final StaticCredentialsProvider CREDS =
        StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIDEXAMPLE", "secret"));

    static KinesisClient sync(String endpoint, StaticCredentialsProvider creds) {
        return KinesisClient.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1)
            .credentialsProvider(creds).httpClientBuilder(ApacheHttpClient.builder())
            .overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1))).build();
    }

    static KinesisAsyncClient async(String endpoint, boolean tls) {
        NettyNioAsyncHttpClient.Builder http = NettyNioAsyncHttpClient.builder().protocol(Protocol.HTTP2);
        var b = KinesisAsyncClient.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1)
            .credentialsProvider(CREDS).overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1)));
        if (tls) // runnel's --tls-self-signed certificate: trust it blindly (development only)
            b.httpClient(http.buildWithDefaults(AttributeMap.builder()
                .put(SdkHttpConfigurationOption.TRUST_ALL_CERTIFICATES, true).build()));
        else
            b.httpClientBuilder(http); // h2c with prior knowledge on an http:// endpoint
        return b.build();
    }

    /** The async client seen through KinesisClient's interface: every call joined, its cause rethrown. */
    static KinesisClient joined(KinesisAsyncClient a) {
        return (KinesisClient) Proxy.newProxyInstance(Main.class.getClassLoader(), new Class<?>[] {KinesisClient.class},
            (p, m, args) -> {
                Object r;
                try {
                    r = KinesisAsyncClient.class.getMethod(m.getName(), m.getParameterTypes()).invoke(a, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
                if (r instanceof CompletableFuture<?> f) {
                    try {
                        return f.join();
                    } catch (CompletionException e) {
                        throw e.getCause();
                    }
                }
                return r;
            });
    }

    static final class Ctx {
        final String label;
        final KinesisClient k;
        final KinesisAsyncClient a; // null for the sync client
        Ctx(String label, KinesisClient k, KinesisAsyncClient a) { this.label = label; this.k = k; this.a = a; }
        String name(String s) { return "java-" + MODE + "-" + label + "-" + s; }
        void waitExists(String stream) throws Exception {
            if (a != null) a.waiter().waitUntilStreamExists(r -> r.streamName(stream)).get(30, TimeUnit.SECONDS)
                .matched().response().orElseThrow();
            else k.waiter().waitUntilStreamExists(r -> r.streamName(stream)).matched().response().orElseThrow();
        }
        void waitGone(String stream) throws Exception {
            if (a != null) a.waiter().waitUntilStreamNotExists(r -> r.streamName(stream)).get(30, TimeUnit.SECONDS);
            else k.waiter().waitUntilStreamNotExists(r -> r.streamName(stream));
        }
    }

    static SdkBytes bytes(String s) { return SdkBytes.fromUtf8String(s); }
    static List<String> data(List<software.amazon.awssdk.services.kinesis.model.Record> rs) {
        List<String> out = new ArrayList<>();
        for (var r : rs) out.add(r.data().asUtf8String());
        return out;
    }

    static List<software.amazon.awssdk.services.kinesis.model.Record> read(KinesisClient k, String stream, String shard,
            ShardIteratorType type, String seq, Instant ts) {
        String it = k.getShardIterator(r -> r.streamName(stream).shardId(shard).shardIteratorType(type)
            .startingSequenceNumber(seq).timestamp(ts)).shardIterator();
        return k.getRecords(r -> r.shardIterator(it)).records();
    }

    static void waitActive(KinesisClient k, String stream) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            if (k.describeStreamSummary(r -> r.streamName(stream)).streamDescriptionSummary().streamStatus() == StreamStatus.ACTIVE) return;
            Thread.sleep(100);
        }
        throw new AssertionError(stream + " not ACTIVE");
    }

    static void recordPath(Ctx c) {
        KinesisClient k = c.k;
        String s = c.name("records");
        String[] seqs = new String[3];
        Instant[] before = new Instant[1];
        check(c.label + " CreateStream + StreamExists waiter", () -> {
            k.createStream(r -> r.streamName(s).shardCount(2));
            c.waitExists(s);
        });
        check(c.label + " DescribeStream/DescribeStreamSummary", () -> {
            StreamDescription d = k.describeStream(r -> r.streamName(s)).streamDescription();
            eq(StreamStatus.ACTIVE, d.streamStatus(), "status");
            eq(2, d.shards().size(), "shards");
            eq("0", d.shards().get(0).hashKeyRange().startingHashKey(), "first hash key");
            eq("340282366920938463463374607431768211455", d.shards().get(1).hashKeyRange().endingHashKey(), "last hash key");
            ok(d.streamCreationTimestamp().isAfter(Instant.now().minusSeconds(120)), "creation timestamp " + d.streamCreationTimestamp());
            StreamDescriptionSummary m = k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary();
            eq(2, m.openShardCount(), "open shards");
            eq(24, m.retentionPeriodHours(), "retention");
            eq(EncryptionType.NONE, m.encryptionType(), "encryption");
            eq(StreamMode.PROVISIONED, m.streamModeDetails().streamMode(), "mode");
            eq("arn:aws:kinesis:us-east-1:" + ACCOUNT + ":stream/" + s, m.streamARN(), "arn");
        });
        check(c.label + " PutRecord", () -> {
            before[0] = Instant.now().minusSeconds(2);
            for (int i = 0; i < 3; i++) {
                final int n = i;
                PutRecordResponse p = k.putRecord(r -> r.streamName(s).partitionKey("pk").explicitHashKey("0").data(bytes("r" + n)));
                eq("shardId-000000000000", p.shardId(), "shard");
                seqs[i] = p.sequenceNumber();
            }
            ok(new java.math.BigInteger(seqs[2]).compareTo(new java.math.BigInteger(seqs[0])) > 0, "sequence numbers grow");
        });
        check(c.label + " PutRecords", () -> {
            List<PutRecordsRequestEntry> es = new ArrayList<>();
            for (int i = 0; i < 10; i++) es.add(PutRecordsRequestEntry.builder().partitionKey("k" + i).data(bytes("b" + i)).build());
            PutRecordsResponse p = k.putRecords(r -> r.streamName(s).records(es));
            eq(0, p.failedRecordCount(), "failed");
            eq(10, p.records().size(), "entries");
            for (var e : p.records()) ok(e.sequenceNumber() != null && e.shardId() != null && e.errorCode() == null, "entry " + e);
        });
        String sh0 = "shardId-000000000000";
        check(c.label + " GetShardIterator TRIM_HORIZON + GetRecords timestamps", () -> {
            var rs = read(k, s, sh0, ShardIteratorType.TRIM_HORIZON, null, null);
            ok(data(rs).subList(0, 3).equals(List.of("r0", "r1", "r2")), "records " + data(rs));
            Instant now = Instant.now().plusSeconds(2);
            for (var r : rs) {
                Instant t = r.approximateArrivalTimestamp();
                ok(t != null && t.isAfter(before[0]) && t.isBefore(now), "ApproximateArrivalTimestamp " + t + " not near " + now);
            }
            eq(seqs[0], rs.get(0).sequenceNumber(), "sequence number");
            eq("pk", rs.get(0).partitionKey(), "partition key");
        });
        check(c.label + " GetShardIterator AT_SEQUENCE_NUMBER/AFTER_SEQUENCE_NUMBER", () -> {
            eq("r1", data(read(k, s, sh0, ShardIteratorType.AT_SEQUENCE_NUMBER, seqs[1], null)).get(0), "at");
            eq("r2", data(read(k, s, sh0, ShardIteratorType.AFTER_SEQUENCE_NUMBER, seqs[1], null)).get(0), "after");
        });
        check(c.label + " GetShardIterator AT_TIMESTAMP", () -> {
            eq("r0", data(read(k, s, sh0, ShardIteratorType.AT_TIMESTAMP, null, before[0])).get(0), "from before the puts");
            Thread.sleep(20);
            eq(0, read(k, s, sh0, ShardIteratorType.AT_TIMESTAMP, null, Instant.now()).size(), "from now");
        });
        check(c.label + " GetShardIterator LATEST + NextShardIterator", () -> {
            String it = k.getShardIterator(r -> r.streamName(s).shardId(sh0).shardIteratorType(ShardIteratorType.LATEST)).shardIterator();
            GetRecordsResponse g = k.getRecords(r -> r.shardIterator(it));
            eq(0, g.records().size(), "empty at LATEST");
            eq(0L, g.millisBehindLatest(), "MillisBehindLatest");
            k.putRecord(r -> r.streamName(s).partitionKey("pk").explicitHashKey("0").data(bytes("late")));
            GetRecordsResponse g2 = k.getRecords(r -> r.shardIterator(g.nextShardIterator()));
            eq(List.of("late"), data(g2.records()), "after LATEST");
        });
        check(c.label + " ListShards filters + NextToken paging", () -> {
            ListShardsResponse p1 = k.listShards(r -> r.streamName(s).maxResults(1));
            eq(1, p1.shards().size(), "page 1");
            ok(p1.nextToken() != null, "NextToken");
            ListShardsResponse p2 = k.listShards(r -> r.nextToken(p1.nextToken()).maxResults(1));
            eq("shardId-000000000001", p2.shards().get(0).shardId(), "page 2");
            eq(1, k.listShards(r -> r.streamName(s).exclusiveStartShardId(sh0)).shards().size(), "ExclusiveStartShardId");
            for (ShardFilterType f : List.of(ShardFilterType.AT_LATEST, ShardFilterType.AT_TRIM_HORIZON, ShardFilterType.FROM_TRIM_HORIZON))
                eq(2, k.listShards(r -> r.streamName(s).shardFilter(b -> b.type(f))).shards().size(), "filter " + f);
            eq(2, k.listShards(r -> r.streamName(s).shardFilter(b -> b.type(ShardFilterType.AT_TIMESTAMP).timestamp(Instant.now()))).shards().size(), "AT_TIMESTAMP");
        });
        check(c.label + " retention", () -> {
            k.increaseStreamRetentionPeriod(r -> r.streamName(s).retentionPeriodHours(48));
            eq(48, k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary().retentionPeriodHours(), "increased");
            k.decreaseStreamRetentionPeriod(r -> r.streamName(s).retentionPeriodHours(24));
            eq(24, k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary().retentionPeriodHours(), "decreased");
        });
        check(c.label + " tags", () -> {
            k.addTagsToStream(r -> r.streamName(s).tags(Map.of("team", "data", "env", "test")));
            var t = k.listTagsForStream(r -> r.streamName(s));
            eq(2, t.tags().size(), "tags");
            k.removeTagsFromStream(r -> r.streamName(s).tagKeys("env"));
            var t2 = k.listTagsForStream(r -> r.streamName(s));
            eq(List.of(Tag.builder().key("team").value("data").build()), t2.tags(), "after remove");
        });
        check(c.label + " encryption (alias/aws/kinesis)", () -> {
            k.startStreamEncryption(r -> r.streamName(s).encryptionType(EncryptionType.KMS).keyId("alias/aws/kinesis"));
            waitActive(k, s);
            var m = k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary();
            eq(EncryptionType.KMS, m.encryptionType(), "type");
            eq("alias/aws/kinesis", m.keyId(), "key");
            PutRecordResponse p = k.putRecord(r -> r.streamName(s).partitionKey("pk").explicitHashKey("0").data(bytes("secret")));
            eq(EncryptionType.KMS, p.encryptionType(), "PutRecord EncryptionType");
            var rs = read(k, s, sh0, ShardIteratorType.AT_SEQUENCE_NUMBER, p.sequenceNumber(), null);
            eq("secret", rs.get(0).data().asUtf8String(), "decrypted data");
            eq(EncryptionType.KMS, rs.get(0).encryptionType(), "record EncryptionType");
            k.stopStreamEncryption(r -> r.streamName(s).encryptionType(EncryptionType.KMS).keyId("alias/aws/kinesis"));
            waitActive(k, s);
            eq(EncryptionType.NONE, k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary().encryptionType(), "stopped");
        });
        check(c.label + " stream modes", () -> {
            String arn = k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary().streamARN();
            k.updateStreamMode(r -> r.streamARN(arn).streamModeDetails(b -> b.streamMode(StreamMode.ON_DEMAND)));
            waitActive(k, s);
            eq(StreamMode.ON_DEMAND, k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary().streamModeDetails().streamMode(), "on demand");
            k.updateStreamMode(r -> r.streamARN(arn).streamModeDetails(b -> b.streamMode(StreamMode.PROVISIONED)));
            waitActive(k, s);
        });
        check(c.label + " DeleteStream + StreamNotExists waiter", () -> {
            k.deleteStream(r -> r.streamName(s));
            c.waitGone(s);
            expect(ResourceNotFoundException.class, 400, null, () -> k.describeStreamSummary(r -> r.streamName(s)));
        });
    }

    static void resharding(Ctx c) {
        KinesisClient k = c.k;
        String s = c.name("reshard");
        check(c.label + " SplitShard/MergeShards/UpdateShardCount, parents then children", () -> {
            k.createStream(r -> r.streamName(s).shardCount(1));
            c.waitExists(s);
            k.putRecord(r -> r.streamName(s).partitionKey("a").explicitHashKey("1").data(bytes("parent")));
            k.splitShard(r -> r.streamName(s).shardToSplit("shardId-000000000000").newStartingHashKey("170141183460469231731687303715884105728"));
            waitActive(k, s);
            k.putRecord(r -> r.streamName(s).partitionKey("a").explicitHashKey("1").data(bytes("child")));
            List<Shard> shards = k.listShards(r -> r.streamName(s)).shards();
            eq(3, shards.size(), "shards after split");
            eq("shardId-000000000000", shards.get(1).parentShardId(), "child's parent");
            // the parent, read to its end, names its children
            String it = k.getShardIterator(r -> r.streamName(s).shardId("shardId-000000000000").shardIteratorType(ShardIteratorType.TRIM_HORIZON)).shardIterator();
            GetRecordsResponse g = k.getRecords(r -> r.shardIterator(it));
            eq(List.of("parent"), data(g.records()), "parent records");
            ok(g.nextShardIterator() == null, "closed parent has no NextShardIterator");
            eq(2, g.childShards().size(), "ChildShards");
            eq(List.of("child"), data(read(k, s, "shardId-000000000001", ShardIteratorType.TRIM_HORIZON, null, null)), "child records");
            k.mergeShards(r -> r.streamName(s).shardToMerge("shardId-000000000001").adjacentShardToMerge("shardId-000000000002"));
            waitActive(k, s);
            eq(1, k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary().openShardCount(), "open after merge");
            UpdateShardCountResponse u = k.updateShardCount(r -> r.streamName(s).targetShardCount(2).scalingType(ScalingType.UNIFORM_SCALING));
            eq(1, u.currentShardCount(), "current");
            eq(2, u.targetShardCount(), "target");
            waitActive(k, s);
            eq(2, k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary().openShardCount(), "open after update");
            k.deleteStream(r -> r.streamName(s));
        });
    }

    static void consumers(Ctx c) {
        KinesisClient k = c.k;
        String s = c.name("efo");
        check(c.label + " Register/Describe/List/DeregisterStreamConsumer" + (c.a != null ? " + SubscribeToShard" : ""), () -> {
            k.createStream(r -> r.streamName(s).shardCount(1));
            c.waitExists(s);
            String arn = k.describeStreamSummary(r -> r.streamName(s)).streamDescriptionSummary().streamARN();
            Consumer reg = k.registerStreamConsumer(r -> r.streamARN(arn).consumerName("app")).consumer();
            eq("app", reg.consumerName(), "name");
            ConsumerDescription d = null;
            for (int i = 0; i < 100; i++) {
                d = k.describeStreamConsumer(r -> r.consumerARN(reg.consumerARN())).consumerDescription();
                if (d.consumerStatus() == ConsumerStatus.ACTIVE) break;
                Thread.sleep(100);
            }
            eq(ConsumerStatus.ACTIVE, d.consumerStatus(), "status");
            eq(arn, d.streamARN(), "stream ARN");
            var l = k.listStreamConsumers(r -> r.streamARN(arn)).consumers();
            eq(1, l.size(), "listed");
            eq(reg.consumerARN(), l.get(0).consumerARN(), "listed ARN");
            if (c.a != null) subscribe(c, s, reg.consumerARN());
            k.deregisterStreamConsumer(r -> r.consumerARN(reg.consumerARN()));
            for (int i = 0; i < 100 && !k.listStreamConsumers(r -> r.streamARN(arn)).consumers().isEmpty(); i++) Thread.sleep(100);
            eq(0, k.listStreamConsumers(r -> r.streamARN(arn)).consumers().size(), "deregistered");
            k.deleteStream(r -> r.streamName(s));
        });
    }

    static void subscribe(Ctx c, String s, String consumerArn) throws Exception {
        for (int i = 0; i < 3; i++) { final int n = i; c.k.putRecord(r -> r.streamName(s).partitionKey("p").data(bytes("before" + n))); }
        List<String> got = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch first = new CountDownLatch(1);
        long t0 = System.nanoTime();
        var handler = software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponseHandler.builder()
            .subscriber(software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponseHandler.Visitor.builder()
                .onSubscribeToShardEvent(ev -> {
                    for (var r : ev.records()) got.add(r.data().asUtf8String());
                    ok(ev.continuationSequenceNumber() != null, "ContinuationSequenceNumber");
                    first.countDown();
                }).build())
            .build();
        CompletableFuture<Void> f = c.a.subscribeToShard(r -> r.consumerARN(consumerArn).shardId("shardId-000000000000")
            .startingPosition(p -> p.type(ShardIteratorType.TRIM_HORIZON)), handler);
        ok(first.await(10, TimeUnit.SECONDS), "first event");
        for (int i = 0; i < 3; i++) { final int n = i; c.k.putRecord(r -> r.streamName(s).partitionKey("p").data(bytes("during" + n))); }
        f.get(30, TimeUnit.SECONDS); // the stream ends at --subscription-lifetime
        double secs = (System.nanoTime() - t0) / 1e9;
        eq(List.of("before0", "before1", "before2", "during0", "during1", "during2"), got, "records over the subscription");
        ok(secs >= 2 && secs < 20, "ended at the lifetime, after " + secs + " s");
    }

    /** Sets X-Amz-Target to an operation Kinesis does not have. */
    static final class UnknownTarget implements ExecutionInterceptor {
        @Override public SdkHttpRequest modifyHttpRequest(Context.ModifyHttpRequest ctx, ExecutionAttributes a) {
            return ctx.httpRequest().toBuilder().putHeader("X-Amz-Target", "Kinesis_20131202.NoSuchOperation").build();
        }
    }

    static void errors(Ctx c, String endpoint) {
        KinesisClient k = c.k;
        String s = c.name("errors");
        check(c.label + " ResourceNotFoundException", () -> expect(ResourceNotFoundException.class, 400,
            "Stream " + s + " under account " + ACCOUNT + " not found.", () -> k.describeStream(r -> r.streamName(s))));
        check(c.label + " ResourceInUseException", () -> {
            k.createStream(r -> r.streamName(s).shardCount(1));
            c.waitExists(s);
            expect(ResourceInUseException.class, 400, "Stream " + s + " under account " + ACCOUNT + " already exists.",
                () -> k.createStream(r -> r.streamName(s).shardCount(1)));
        });
        check(c.label + " InvalidArgumentException", () -> expect(InvalidArgumentException.class, 400,
            "Minimum allowed retention period is 24 hours. Requested retention period (12 hours) is too short.",
            () -> k.decreaseStreamRetentionPeriod(r -> r.streamName(s).retentionPeriodHours(12))));
        check(c.label + " LimitExceededException", () -> {
            var e = expect(LimitExceededException.class, 400, null, () -> k.createStream(r -> r.streamName(s + "-big").shardCount(100000)));
            ok(e.awsErrorDetails().errorMessage().startsWith("This request would exceed the shard limit"), "message " + e.getMessage());
        });
        check(c.label + " ValidationException", () -> expect(ValidationException.class, 400,
            "ShardCount is not supported for streams in ON_DEMAND mode.",
            () -> k.createStream(r -> r.streamName(s + "-od").shardCount(1).streamModeDetails(b -> b.streamMode(StreamMode.ON_DEMAND)))));
        check(c.label + " KMSNotFoundException", () -> expect(KmsNotFoundException.class, 400, "Invalid keyId not-a-key",
            () -> k.startStreamEncryption(r -> r.streamName(s).encryptionType(EncryptionType.KMS).keyId("not-a-key"))));
        check(c.label + " unknown operation -> AwsServiceException", () -> {
            try (KinesisClient bad = KinesisClient.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1)
                    .credentialsProvider(CREDS).httpClientBuilder(ApacheHttpClient.builder())
                    .overrideConfiguration(o -> o.addExecutionInterceptor(new UnknownTarget()).retryStrategy(r -> r.maxAttempts(1))).build()) {
                var e = expect(AwsServiceException.class, 400, null, () -> bad.listStreams());
                eq("UnknownOperationException", e.awsErrorDetails().errorCode(), "error code");
            }
        });
    }

    /** runnel's --enable-test-clock offset is sticky: each step moves the server 400 s further on. */
    static int clockSteps;
    static String clockStep() { return Long.toString(++clockSteps * 400000L); }

    /** Against a runnel of its own with --enable-test-clock: iterators and NextTokens expire. */
    static void expiry(Ctx c) {
        KinesisClient k = c.k;
        String s = c.name("expiry");
        check(c.label + " (setup) stream for expiry checks", () -> {
            k.createStream(r -> r.streamName(s).shardCount(1));
            waitActive(k, s);
        });
        check(c.label + " ExpiredIteratorException", () -> {
            String it = k.getShardIterator(r -> r.streamName(s).shardId("shardId-000000000000").shardIteratorType(ShardIteratorType.LATEST)).shardIterator();
            var e = expect(ExpiredIteratorException.class, 400, null, () -> k.getRecords(r -> r.shardIterator(it)
                .overrideConfiguration(o -> o.putHeader("x-runnel-test-clock-offset-ms", clockStep()))));
            ok(e.awsErrorDetails().errorMessage().startsWith("Iterator expired."), "message " + e.getMessage());
        });
        check(c.label + " ExpiredNextTokenException", () -> {
            String tok = k.listShards(r -> r.streamName(s).maxResults(1)).nextToken();
            k.createStream(r -> r.streamName(s + "-2").shardCount(2));
            waitActive(k, s + "-2");
            String tok2 = k.listShards(r -> r.streamName(s + "-2").maxResults(1)).nextToken();
            ok(tok2 != null, "NextToken " + tok);
            expect(ExpiredNextTokenException.class, 400, "The requested NextToken has expired.", () -> k.listShards(r -> r.nextToken(tok2)
                .overrideConfiguration(o -> o.putHeader("x-runnel-test-clock-offset-ms", clockStep()))));
        });
    }

    /** Against runnel --enforce-limits --credentials: throttling and IAM denials. */
    static void limits(String endpoint) {
        KinesisClient k = sync(endpoint, StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIAJAVASDKADMIN0001", "admin-secret")));
        KinesisClient reader = sync(endpoint, StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIAJAVASDKREADER001", "reader-secret")));
        String s = "java-" + MODE + "-limits";
        check("sync PutRecords partial failure (ProvisionedThroughputExceededException entries)", () -> {
            k.createStream(r -> r.streamName(s).shardCount(1));
            waitActive(k, s);
            byte[] big = new byte[4096];
            List<PutRecordsRequestEntry> es = new ArrayList<>();
            for (int i = 0; i < 500; i++) es.add(PutRecordsRequestEntry.builder().partitionKey("k").data(SdkBytes.fromByteArray(big)).build());
            PutRecordsResponse p = k.putRecords(r -> r.streamName(s).records(es));
            ok(p.failedRecordCount() > 0 && p.failedRecordCount() < 500, "FailedRecordCount " + p.failedRecordCount());
            var bad = p.records().stream().filter(e -> e.errorCode() != null).findFirst().orElseThrow();
            eq("ProvisionedThroughputExceededException", bad.errorCode(), "ErrorCode");
            ok(bad.errorMessage().startsWith("Rate exceeded for shard shardId-000000000000 in stream " + s), "ErrorMessage " + bad.errorMessage());
        });
        check("sync ProvisionedThroughputExceededException", () -> {
            String it = k.getShardIterator(r -> r.streamName(s).shardId("shardId-000000000000").shardIteratorType(ShardIteratorType.LATEST)).shardIterator();
            var e = expect(ProvisionedThroughputExceededException.class, 400, null, () -> {
                for (int i = 0; i < 50; i++) k.getRecords(r -> r.shardIterator(it));
            });
            ok(e.awsErrorDetails().errorMessage().startsWith("Rate exceeded for"), "message " + e.getMessage());
        });
        check("sync AccessDeniedException", () -> {
            var e = expect(AccessDeniedException.class, 400, null,
                () -> reader.putRecord(r -> r.streamName(s).partitionKey("k").data(bytes("x"))));
            ok(e.awsErrorDetails().errorMessage().contains("is not authorized to perform: kinesis:PutRecord"), "message " + e.getMessage());
            reader.describeStreamSummary(r -> r.streamName(s)); // what the policy allows still works
        });
    }

    public static void main(String[] args) throws Exception {
        String ep = System.getenv("RN_ENDPOINT");
        String limitsEp = System.getenv("RN_LIMITS_ENDPOINT");
        String clockEp = System.getenv("RN_CLOCK_ENDPOINT");
        String faultsEp = System.getenv("RN_FAULTS_ENDPOINT");
        ok(ep != null && limitsEp != null && clockEp != null, "RN_ENDPOINT, RN_LIMITS_ENDPOINT and RN_CLOCK_ENDPOINT must be set");
        String tlsEp = ep.replace("http://", "https://");
        List<String> only = args.length > 0 ? Arrays.asList(args) : List.of("sync", "async", "async-tls", "limits");

        if (only.contains("sync")) {
            Ctx c = new Ctx("sync", sync(ep, CREDS), null);
            recordPath(c); resharding(c); consumers(c); errors(c, ep); KmsChecks.states(c, ep);
            expiry(new Ctx("sync", sync(clockEp, CREDS), null));
        }
        if (only.contains("async")) {
            KinesisAsyncClient a = async(ep, false);
            Ctx c = new Ctx("async", joined(a), a);
            recordPath(c); resharding(c); consumers(c); errors(c, ep); KmsChecks.states(c, ep);
            a.close();
            KinesisAsyncClient ac = async(clockEp, false);
            expiry(new Ctx("async", joined(ac), ac));
            ac.close();
        }
        if (only.contains("async-tls")) {
            KinesisAsyncClient a = async(tlsEp, true);
            Ctx c = new Ctx("async-tls", joined(a), a);
            recordPath(c); consumers(c);
            a.close();
        }
        if (only.contains("limits")) { limits(limitsEp); KmsChecks.accessDenied(limitsEp); }
        if (only.contains("limits") && faultsEp != null) KmsChecks.injected(faultsEp);
        System.out.println("java-sdk " + MODE + ": " + passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
