package runnel.kpl;

import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;
import software.amazon.kinesis.retrieval.AggregatorUtil;
import software.amazon.kinesis.retrieval.KinesisClientRecord;

/**
 * The read-back side of the KPL suite (Producer writes, this reads). Usage:
 *   Reader create STREAM...                   4-shard streams, waited ACTIVE
 *   Reader check STREAM agg|noagg PUTS.tsv    every shard read with GetRecords, de-aggregated
 *                                             with KCL's AggregatorUtil, compared with PUTS
 * Env: RN_ENDPOINT (runnel, cleartext). Prints "ok"/"FAIL" lines; exits 1 if any check failed.
 */
public final class Reader {
  static final String AK = "AKIDRUNNELKPLTEST000", SK = "runnel-kpl-secret";
  static final int SHARDS = 4;

  static int failures = 0;

  static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  /** One user record as put, and what the KPL reported for it. */
  static final class Put {
    final int index;
    final String key, ehk, payload, shardId, seq;
    final int round;
    Put(String line) {
      String[] f = line.split("\t", -1);
      index = Integer.parseInt(f[0]); key = f[1]; ehk = f[2].equals("-") ? null : f[2]; payload = f[3];
      shardId = f[4]; seq = f[5]; round = Integer.parseInt(f[7]);
    }
  }

  public static void main(String[] args) throws Exception {
    try (KinesisClient kin = KinesisClient.builder()
        .endpointOverride(URI.create(System.getenv("RN_ENDPOINT")))
        .region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(AK, SK)))
        .build()) {
      if (args[0].equals("create")) {
        for (int i = 1; i < args.length; i++) createStream(kin, args[i], SHARDS);
      } else {
        List<Put> puts = new ArrayList<>();
        for (String l : Files.readAllLines(Path.of(args[3]), StandardCharsets.UTF_8)) puts.add(new Put(l));
        check(kin, args[1], args[2].equals("agg"), puts);
      }
    }
    System.exit(failures == 0 ? 0 : 1);
  }

  static void createStream(KinesisClient kin, String name, int shards) throws InterruptedException {
    kin.createStream(b -> b.streamName(name).shardCount(shards));
    for (int i = 0; i < 100; i++) {
      if (kin.describeStreamSummary(b -> b.streamName(name)).streamDescriptionSummary().streamStatus()
          == StreamStatus.ACTIVE) return;
      Thread.sleep(100);
    }
    throw new IllegalStateException(name + " did not become ACTIVE");
  }

  static void check(KinesisClient kin, String stream, boolean aggregation, List<Put> puts) {
    int n = puts.size();
    // Read every shard back with GetRecords and de-aggregate with KCL's AggregatorUtil.
    List<Shard> shards = kin.listShards(b -> b.streamName(stream)).shards();
    check(shards.size() == SHARDS, stream + ": " + shards.size() + " shards listed");
    AggregatorUtil agg = new AggregatorUtil();
    Map<String, Put> byPayload = new HashMap<>();
    for (Put p : puts) byPayload.put(p.payload, p);
    int kinesisRecords = 0, userRecords = 0, aggregatedRecords = 0, mismatches = 0, ehkMismatches = 0;
    Map<Integer, Put> byIndex = new HashMap<>();
    for (Put p : puts) byIndex.put(p.index, p);
    Map<String, List<Integer>> orderPerKey = new LinkedHashMap<>();
    Map<String, Integer> seen = new HashMap<>();
    List<String> problems = new ArrayList<>();
    for (Shard s : shards) {
      BigInteger lo = new BigInteger(s.hashKeyRange().startingHashKey());
      BigInteger hi = new BigInteger(s.hashKeyRange().endingHashKey());
      String it = kin.getShardIterator(b -> b.streamName(stream).shardId(s.shardId())
          .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).shardIterator();
      String lastSeq = null;
      long lastSub = -1;
      for (int round = 0; it != null && round < 10_000; round++) {
        final String iter = it;
        GetRecordsResponse resp = kin.getRecords(b -> b.shardIterator(iter).limit(1000));
        List<KinesisClientRecord> raw = new ArrayList<>();
        for (Record r : resp.records()) raw.add(KinesisClientRecord.fromRecord(r));
        kinesisRecords += raw.size();
        for (KinesisClientRecord kr : agg.deaggregate(raw, lo, hi)) {
          userRecords++;
          if (kr.aggregated()) aggregatedRecords++;
          String payload = StandardCharsets.UTF_8.decode(kr.data()).toString();
          Put p = byPayload.get(payload);
          if (p == null) { mismatches++; problems.add("unknown payload in " + s.shardId()); continue; }
          seen.merge(payload, 1, Integer::sum);
          // what the KPL reported: the shard and the (outer) sequence number; the sub-sequence
          // number orders the user records inside one Kinesis record, 0.. in order.
          if (!s.shardId().equals(p.shardId) || !kr.sequenceNumber().equals(p.seq)) {
            mismatches++;
            if (problems.size() < 5) problems.add("rec " + p.index + ": read " + s.shardId() + "/" + kr.sequenceNumber()
                + " KPL said " + p.shardId + "/" + p.seq);
          }
          if (!kr.partitionKey().equals(p.key)) {
            mismatches++;
            if (problems.size() < 5) problems.add("rec " + p.index + ": key " + kr.partitionKey() + " != " + p.key);
          }
          if (kr.sequenceNumber().equals(lastSeq)) {
            if (kr.subSequenceNumber() != lastSub + 1) {
              mismatches++;
              if (problems.size() < 5) problems.add("rec " + p.index + ": sub-sequence " + kr.subSequenceNumber() + " after " + lastSub);
            }
          } else if (kr.subSequenceNumber() != 0) {
            mismatches++;
            if (problems.size() < 5) problems.add("rec " + p.index + ": first sub-sequence " + kr.subSequenceNumber());
          }
          lastSeq = kr.sequenceNumber();
          lastSub = kr.subSequenceNumber();
          // explicit hash keys: carried inside aggregated records; in any case the record sits in
          // the shard whose range holds its hash key.
          if (p.ehk != null) {
            BigInteger h = new BigInteger(p.ehk);
            boolean inRange = h.compareTo(lo) >= 0 && h.compareTo(hi) <= 0;
            boolean carried = !kr.aggregated() || p.ehk.equals(kr.explicitHashKey());
            if (!inRange || !carried) {
              ehkMismatches++;
              if (problems.size() < 5) problems.add("rec " + p.index + ": ehk " + p.ehk + " read " + kr.explicitHashKey() + " in " + s.shardId());
            }
          } else if (kr.explicitHashKey() != null) {
            ehkMismatches++;
          }
          orderPerKey.computeIfAbsent(p.key, x -> new ArrayList<>()).add(p.index);
        }
        it = resp.nextShardIterator();
        if (resp.records().isEmpty() && Objects.requireNonNullElse(resp.millisBehindLatest(), 0L) == 0L) break;
      }
    }
    int missingRecs = 0, dup = 0;
    for (Put p : puts) {
      Integer c = seen.get(p.payload);
      if (c == null) missingRecs++;
      else if (c > 1) dup++;
    }
    System.out.printf("     %s: %d user records in %d Kinesis records (%d de-aggregated from aggregates)%n",
        stream, userRecords, kinesisRecords, aggregatedRecords);
    check(missingRecs == 0 && dup == 0 && userRecords == n,
        stream + ": read back exactly the " + n + " user records (" + missingRecs + " missing, " + dup + " duplicated, " + userRecords + " read)");
    if (aggregation) {
      check(kinesisRecords < n && aggregatedRecords > n / 2,
          stream + ": aggregation happened (" + kinesisRecords + " Kinesis records for " + n + " user records)");
    } else {
      check(kinesisRecords == n && aggregatedRecords == 0,
          stream + ": one Kinesis record per user record (" + kinesisRecords + ")");
    }
    check(mismatches == 0, stream + ": payloads, partition keys, shard, sequence and sub-sequence numbers match the KPL's results"
        + (problems.isEmpty() ? "" : " " + problems));
    check(ehkMismatches == 0, stream + ": explicit hash keys honoured (" + ehkMismatches + " wrong)");
    // order per key: a record put in a later round (the producer flushes and waits between rounds)
    // never reads before one of an earlier round; inside a round the KPL keeps no order.
    int outOfOrder = 0, inRound = 0;
    for (Map.Entry<String, List<Integer>> e : orderPerKey.entrySet()) {
      List<Integer> l = e.getValue();
      int maxRound = -1, maxIndex = -1;
      for (int idx : l) {
        Put p = byIndex.get(idx);
        if (p.round < maxRound) outOfOrder++;
        else if (idx < maxIndex) inRound++;
        maxRound = Math.max(maxRound, p.round);
        maxIndex = Math.max(maxIndex, idx);
      }
    }
    check(outOfOrder == 0, stream + ": order per partition key kept across rounds (" + outOfOrder + " inversions over "
        + orderPerKey.size() + " keys; " + inRound + " records read before an earlier put of their key in the same round)");
  }
}
