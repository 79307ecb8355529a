package runnel.kpl;

import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.services.kinesis.producer.Attempt;
import com.amazonaws.services.kinesis.producer.KinesisProducer;
import com.amazonaws.services.kinesis.producer.KinesisProducerConfiguration;
import com.amazonaws.services.kinesis.producer.UserRecordFailedException;
import com.amazonaws.services.kinesis.producer.UserRecordResult;
import com.google.common.util.concurrent.ListenableFuture;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The KPL against runnel over TLS (its one port). Usage:
 *   Producer put STREAM agg|noagg N OUT.tsv   N user records; OUT gets, per record,
 *                                             index, key, explicit hash key (or -), payload, shardId, sequence
 *   Producer missing                          a put to a stream that does not exist
 * Env: RN_PORT (runnel, TLS), DEAD_PORT (a closed 127.0.0.1 port for CloudWatch).
 * Prints "ok"/"FAIL" lines; exits 1 if any check failed.
 */
public final class Producer {
  static final String AK = "AKIDRUNNELKPLTEST000", SK = "runnel-kpl-secret";
  static final int KEYS = 12, EHK_KEYS = 4, ROUNDS = 10;
  static int failures = 0;

  static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(System.getenv("RN_PORT"));
    int dead = Integer.parseInt(System.getenv("DEAD_PORT"));
    long t0 = System.nanoTime();
    switch (args[0]) {
      case "put" -> put(port, dead, args[1], args[2].equals("agg"), Integer.parseInt(args[3]), Path.of(args[4]));
      case "missing" -> missing(port, dead);
      default -> throw new IllegalArgumentException(args[0]);
    }
    System.out.printf("     (%s: %d ms)%n", String.join(" ", args[0], args.length > 1 ? args[1] : ""),
        (System.nanoTime() - t0) / 1_000_000);
    System.exit(failures == 0 ? 0 : 1);
  }

  /**
   * The configuration tests/clients/kpl/README.md documents: Kinesis and STS on runnel's port over
   * TLS (runnel's certificate is not verified), CloudWatch off and pointed at a dead loopback port.
   */
  static KinesisProducerConfiguration config(int port, int dead, boolean aggregation) {
    return new KinesisProducerConfiguration()
        .setRegion("us-east-1")
        .setCredentialsProvider(new AWSStaticCredentialsProvider(new BasicAWSCredentials(AK, SK)))
        .setKinesisEndpoint("127.0.0.1")
        .setKinesisPort(port)
        .setStsEndpoint("127.0.0.1")
        .setStsPort(port)
        .setVerifyCertificate(false)
        .setMetricsLevel("none")
        .setCloudwatchEndpoint("127.0.0.1")
        .setCloudwatchPort(dead)
        .setAggregationEnabled(aggregation)
        .setRecordMaxBufferedTime(50)
        .setRecordTtl(30_000)
        .setRequestTimeout(10_000)
        .setLogLevel(Objects.requireNonNullElse(System.getenv("KPL_LOG"), "error"));
  }

  static String describe(UserRecordResult r, Throwable t) {
    if (r == null) return String.valueOf(t);
    StringBuilder b = new StringBuilder();
    for (Attempt a : r.getAttempts()) b.append('[').append(a.getErrorCode()).append(": ").append(a.getErrorMessage()).append(']');
    return b.toString();
  }

  static void put(int port, int dead, String stream, boolean aggregation, int n, Path out) throws Exception {
    // N user records over KEYS partition keys; the first EHK_KEYS keys carry a fixed explicit hash
    // key each (the middle of each quarter of the hash space), the others none.
    Random rnd = new Random(11);
    String[] ehkOf = new String[KEYS];
    for (int k = 0; k < EHK_KEYS; k++) {
      ehkOf[k] = BigInteger.ONE.shiftLeft(128).multiply(BigInteger.valueOf(2L * k + 1))
          .divide(BigInteger.valueOf(2L * EHK_KEYS)).toString();
    }
    String[] key = new String[n], ehk = new String[n], payload = new String[n];
    for (int i = 0; i < n; i++) {
      int k = rnd.nextInt(KEYS);
      key[i] = "key-" + k;
      ehk[i] = ehkOf[k];
      StringBuilder body = new StringBuilder("rec-" + i + "-" + key[i] + "-");
      int pad = rnd.nextInt(200);
      for (int j = 0; j < pad; j++) body.append((char) ('a' + rnd.nextInt(26)));
      payload[i] = body.toString();
    }

    KinesisProducer kpl = new KinesisProducer(config(port, dead, aggregation));
    List<ListenableFuture<UserRecordResult>> futures = new ArrayList<>(n);
    String[] shard = new String[n], seq = new String[n];
    int[] attempts = new int[n];
    int retried = 0;
    int ok = 0;
    String firstFailure = null;
    try {
      // ROUNDS rounds, each flushed and completed before the next: the KPL keeps no order inside
      // a round (its native side takes records from its IPC queue on a thread pool, and several
      // PutRecords race), but a round's records all land before the next round's.
      for (int i = 0; i < n; i++) {
        futures.add(kpl.addUserRecord(stream, key[i], ehk[i], ByteBuffer.wrap(payload[i].getBytes(StandardCharsets.UTF_8))));
        if ((i + 1) % (n / ROUNDS) == 0 || i == n - 1) {
          kpl.flushSync();
          for (int j = 0; j <= i; j++) {
            try {
              futures.get(j).get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
              // counted below
            }
          }
        }
      }
      for (int i = 0; i < n; i++) {
        UserRecordResult r;
        try {
          r = futures.get(i).get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          r = e.getCause() instanceof UserRecordFailedException u ? u.getResult() : null;
          if (firstFailure == null) firstFailure = describe(r, e.getCause());
          continue;
        }
        if (r.isSuccessful() && r.getShardId() != null && r.getSequenceNumber() != null) {
          ok++;
          shard[i] = r.getShardId();
          seq[i] = r.getSequenceNumber();
          attempts[i] = r.getAttempts().size();
          if (attempts[i] > 1) {
            retried++;
            if (retried <= 3) System.out.println("     retried: " + describe(r, null));
          }
        } else if (firstFailure == null) {
          firstFailure = describe(r, null);
        }
      }
    } finally {
      kpl.destroy();
    }
    System.out.println("     " + stream + ": " + retried + " user records needed more than one attempt");
    check(ok == n, stream + ": " + ok + "/" + n + " UserRecordResults successful with shardId and sequence number"
        + (firstFailure == null ? "" : " (first failure: " + firstFailure + ")"));
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out, StandardCharsets.UTF_8))) {
      for (int i = 0; i < n; i++) {
        w.println(i + "\t" + key[i] + "\t" + (ehk[i] == null ? "-" : ehk[i]) + "\t" + payload[i] + "\t"
            + (shard[i] == null ? "-" : shard[i]) + "\t" + (seq[i] == null ? "-" : seq[i]) + "\t" + attempts[i] + "\t" + Math.min(i / (n / ROUNDS), ROUNDS - 1));
      }
    }
  }

  /** A put to a stream that does not exist: every result fails, each attempt naming AWS's error. */
  static void missing(int port, int dead) throws Exception {
    String stream = "kpl-no-such-stream";
    String want = "Stream " + stream + " under account " + System.getenv("RN_ACCOUNT") + " not found.";
    KinesisProducer kpl = new KinesisProducer(config(port, dead, true).setRecordTtl(3000));
    int n = 20, failed = 0, attemptsOk = 0, attemptsTotal = 0;
    List<String> seen = new ArrayList<>();
    try {
      List<ListenableFuture<UserRecordResult>> futures = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        futures.add(kpl.addUserRecord(stream, "k" + i, ByteBuffer.wrap(("x" + i).getBytes(StandardCharsets.UTF_8))));
      }
      kpl.flushSync();
      for (ListenableFuture<UserRecordResult> f : futures) {
        UserRecordResult r;
        try {
          r = f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof UserRecordFailedException u)) { seen.add(String.valueOf(e.getCause())); continue; }
          r = u.getResult();
        }
        if (r.isSuccessful()) continue;
        failed++;
        // every attempt answered by runnel names AWS's error; the KPL closes the list with its
        // own "Expired" when the record's TTL runs out (it retries until then)
        List<Attempt> as = r.getAttempts();
        int rnf = 0;
        boolean allOk = true;
        for (int k = 0; k < as.size(); k++) {
          Attempt a = as.get(k);
          attemptsTotal++;
          String got = a.getErrorCode() + ": " + a.getErrorMessage();
          if (seen.size() < 3 && !seen.contains(got)) seen.add(got);
          if ("ResourceNotFoundException".equals(a.getErrorCode()) && want.equals(a.getErrorMessage())) rnf++;
          else if (!("Expired".equals(a.getErrorCode()) && k == as.size() - 1)) allOk = false;
        }
        allOk &= rnf > 0;
        if (allOk) attemptsOk++;
      }
    } finally {
      kpl.destroy();
    }
    check(failed == n, stream + ": " + failed + "/" + n + " UserRecordResults failed");
    check(attemptsOk == n, stream + ": every attempt (" + attemptsTotal + ") is ResourceNotFoundException '" + want
        + "' but a closing Expired (" + attemptsOk + "/" + n + " records; seen " + seen + ")");
  }
}
