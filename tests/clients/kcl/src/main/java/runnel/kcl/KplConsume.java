package runnel.kcl;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.common.InitialPositionInStreamExtended;
import software.amazon.kinesis.coordinator.Scheduler;
import software.amazon.kinesis.lifecycle.events.InitializationInput;
import software.amazon.kinesis.lifecycle.events.LeaseLostInput;
import software.amazon.kinesis.lifecycle.events.ProcessRecordsInput;
import software.amazon.kinesis.lifecycle.events.ShardEndedInput;
import software.amazon.kinesis.lifecycle.events.ShutdownRequestedInput;
import software.amazon.kinesis.processor.ShardRecordProcessor;
import software.amazon.kinesis.retrieval.KinesisClientRecord;

/**
 * The KPL suite's consumer (tests/clients/kpl/run.sh): records the KPL put with aggregation on,
 * read back by a real KCL worker, one Scheduler with polling retrieval from TRIM_HORIZON, its
 * leases in moto (Main.scheduler, the KCL scenario's configuration). KCL de-aggregates them.
 *
 *   java runnel.kcl.Main kpl STREAM PUTS.tsv
 *
 * PUTS.tsv is what the KPL producer wrote (tests/clients/kpl/src/producer): per user record its
 * index, partition key, explicit hash key, payload, the shard and sequence number the KPL's
 * UserRecordResult gave, attempts, and the round (the producer flushes and waits between rounds).
 * Env: RN_ENDPOINT (runnel), DDB_ENDPOINT (moto). The checks (verdict) are: every user record
 * delivered at least once, no record delivered that was not put; each with its partition key and
 * payload, in the shard and Kinesis record (sequence number) the KPL reported; de-aggregated (most
 * arrive as aggregated() sub-records, fewer Kinesis records than user records) with the
 * sub-sequence numbers of each Kinesis record exactly 0..m-1; per partition key in stream order
 * (sequence, then sub-sequence number, strictly increasing but for repeats) and never a record of
 * an earlier round after one of a later round. selfTest() shows each check failing.
 */
final class KplConsume {
    record Put(int index, String key, String payload, String shard, String seq, int round) {}

    /** One record as a processor saw it, in the order processRecords saw them. */
    record Got(String shard, String seq, long sub, String key, String payload, boolean aggregated) {}

    static List<Put> readPuts(Path p) throws IOException {
        List<Put> puts = new ArrayList<>();
        for (String l : Files.readAllLines(p, StandardCharsets.UTF_8)) {
            String[] f = l.split("\t", -1);
            puts.add(new Put(Integer.parseInt(f[0]), f[1], f[3], f[4], f[5], Integer.parseInt(f[7])));
        }
        return puts;
    }

    static final class Processor implements ShardRecordProcessor {
        final List<Got> got;
        final AtomicInteger checkpointFailures;
        String shard;

        Processor(List<Got> got, AtomicInteger checkpointFailures) {
            this.got = got;
            this.checkpointFailures = checkpointFailures;
        }

        @Override
        public void initialize(InitializationInput in) {
            shard = in.shardId();
        }

        @Override
        public void processRecords(ProcessRecordsInput in) {
            for (KinesisClientRecord r : in.records()) {
                byte[] b = new byte[r.data().remaining()];
                r.data().get(b);
                got.add(new Got(shard, r.sequenceNumber(), r.subSequenceNumber(), r.partitionKey(),
                        new String(b, StandardCharsets.UTF_8), r.aggregated()));
            }
            if (!in.records().isEmpty()) checkpoint(() -> in.checkpointer().checkpoint());
        }

        interface Step { void run() throws Exception; }

        void checkpoint(Step s) {
            try {
                s.run();
            } catch (Exception e) {
                checkpointFailures.incrementAndGet();
            }
        }

        @Override
        public void leaseLost(LeaseLostInput in) {}

        @Override
        public void shardEnded(ShardEndedInput in) {
            checkpoint(() -> in.checkpointer().checkpoint());
        }

        @Override
        public void shutdownRequested(ShutdownRequestedInput in) {
            checkpoint(() -> in.checkpointer().checkpoint());
        }
    }

    static boolean allSeen(List<Put> puts, List<Got> got) {
        Set<String> seen = new HashSet<>();
        synchronized (got) {
            for (Got g : got) seen.add(g.payload());
        }
        for (Put p : puts) if (!seen.contains(p.payload())) return false;
        return true;
    }

    static boolean run(String stream, Path putsFile) throws Exception {
        List<Put> puts = readPuts(putsFile);
        List<Got> got = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger checkpointFailures = new AtomicInteger();
        String app = "runnel-kpl-kcl-" + stream;
        Scheduler s = Main.scheduler(stream, app, false,
                InitialPositionInStreamExtended.newInitialPosition(InitialPositionInStream.TRIM_HORIZON),
                "kpl-reader", Main.kinesis(), Main.dynamo(), Main.cloudWatch(),
                () -> new Processor(got, checkpointFailures));
        Thread t = new Thread(s, "kcl-worker");
        t.setDaemon(true);
        long t0 = System.nanoTime();
        t.start();
        boolean complete = false;
        while (System.nanoTime() - t0 < 150_000_000_000L) {
            if (allSeen(puts, got)) {
                complete = true;
                break;
            }
            Thread.sleep(250);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        try {
            s.startGracefulShutdown().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            s.shutdown();
        }
        System.out.printf("     %s: KCL %s worker (polling, TRIM_HORIZON) saw %d records in %d ms%s; %d checkpoint failures%n",
                stream, software.amazon.kinesis.retrieval.RetrievalConfig.KINESIS_CLIENT_LIB_USER_AGENT_VERSION,
                got.size(), ms, complete ? "" : " (timed out waiting for all)", checkpointFailures.get());
        List<Got> copy;
        synchronized (got) {
            copy = new ArrayList<>(got);
        }
        return verdict(stream, puts, copy, true);
    }

    static boolean check(boolean ok, String what, boolean print) {
        if (print) System.out.println((ok ? "ok   " : "FAIL ") + what);
        return ok;
    }

    static String sample(List<String> problems) {
        return problems.isEmpty() ? "" : " " + problems.subList(0, Math.min(5, problems.size()));
    }

    /** The checks over what the worker delivered (see the class comment). */
    static boolean verdict(String stream, List<Put> puts, List<Got> got, boolean print) {
        Map<String, Put> byPayload = new HashMap<>();
        for (Put p : puts) byPayload.put(p.payload(), p);
        boolean ok = true;

        // every user record at least once, nothing else
        Map<String, Integer> times = new HashMap<>();
        List<String> unknown = new ArrayList<>();
        for (Got g : got) {
            if (byPayload.containsKey(g.payload())) times.merge(g.payload(), 1, Integer::sum);
            else unknown.add(g.shard() + "/" + g.seq() + "/" + g.sub());
        }
        int missing = 0, repeated = 0;
        for (Put p : puts) {
            Integer c = times.get(p.payload());
            if (c == null) missing++;
            else if (c > 1) repeated++;
        }
        ok &= check(missing == 0 && unknown.isEmpty(), stream + ": every one of the " + puts.size()
                + " user records delivered at least once (" + missing + " missing, " + repeated + " more than once, "
                + unknown.size() + " unknown)" + sample(unknown), print);

        // each where the KPL said, with its key; one (sequence, sub-sequence) per user record
        List<String> wrong = new ArrayList<>();
        Map<String, String> extOf = new HashMap<>();
        Map<String, Set<Long>> subsOf = new HashMap<>();
        int aggregated = 0;
        for (Got g : got) {
            Put p = byPayload.get(g.payload());
            if (p == null) continue;
            if (!g.key().equals(p.key())) wrong.add("rec " + p.index() + ": key " + g.key() + " != " + p.key());
            if (!g.shard().equals(p.shard()) || !g.seq().equals(p.seq()))
                wrong.add("rec " + p.index() + ": at " + g.shard() + "/" + g.seq() + ", KPL said " + p.shard() + "/" + p.seq());
            String ext = g.seq() + "/" + g.sub();
            String before = extOf.putIfAbsent(g.payload(), ext);
            if (before != null && !before.equals(ext)) wrong.add("rec " + p.index() + ": at " + ext + " and " + before);
            subsOf.computeIfAbsent(g.shard() + "/" + g.seq(), x -> new HashSet<>()).add(g.sub());
            if (g.aggregated()) aggregated++;
        }
        ok &= check(wrong.isEmpty(), stream + ": partition keys, payloads, shards and sequence numbers as the KPL reported ("
                + wrong.size() + " wrong)" + sample(wrong), print);

        // de-aggregated: sub-records of fewer Kinesis records, sub-sequence numbers 0..m-1
        List<String> gaps = new ArrayList<>();
        for (Map.Entry<String, Set<Long>> e : subsOf.entrySet()) {
            Set<Long> subs = e.getValue();
            for (long i = 0; i < subs.size(); i++) {
                if (!subs.contains(i)) {
                    gaps.add(e.getKey() + " " + new java.util.TreeSet<>(subs));
                    break;
                }
            }
        }
        ok &= check(aggregated > puts.size() / 2 && subsOf.size() < puts.size(),
                stream + ": de-aggregated by KCL (" + aggregated + " of " + got.size() + " deliveries aggregated(), from "
                        + subsOf.size() + " Kinesis records)", print);
        ok &= check(gaps.isEmpty(), stream + ": the sub-sequence numbers of every Kinesis record are 0..m-1 (" + gaps.size()
                + " records otherwise)" + sample(gaps), print);

        // order per partition key: stream order, and rounds never go back
        Map<String, BigInteger[]> last = new HashMap<>();
        Map<String, Integer> lastRound = new HashMap<>();
        Map<String, Set<String>> seenOf = new HashMap<>();
        List<String> disorder = new ArrayList<>();
        for (Got g : got) {
            Put p = byPayload.get(g.payload());
            if (p == null) continue;
            if (!seenOf.computeIfAbsent(g.key(), x -> new HashSet<>()).add(g.seq() + "/" + g.sub())) continue; // a repeat
            BigInteger[] now = {new BigInteger(g.seq()), BigInteger.valueOf(g.sub())};
            BigInteger[] prev = last.put(g.key(), now);
            if (prev != null && (now[0].compareTo(prev[0]) < 0 || (now[0].equals(prev[0]) && now[1].compareTo(prev[1]) <= 0)))
                disorder.add(g.key() + ": " + now[0] + "/" + now[1] + " after " + prev[0] + "/" + prev[1]);
            Integer r = lastRound.put(g.key(), Math.max(p.round(), lastRound.getOrDefault(g.key(), -1)));
            if (r != null && p.round() < r) disorder.add(g.key() + ": rec " + p.index() + " of round " + p.round() + " after round " + r);
        }
        ok &= check(disorder.isEmpty(), stream + ": in order per partition key over " + seenOf.size() + " keys ("
                + disorder.size() + " out of order)" + sample(disorder), print);
        return ok;
    }

    // ---- the checks must fail on deliveries showing each breakage ---------------------------

    static boolean selfTest() {
        // 8 user records, 2 keys, in 2 Kinesis records of 4 sub-records each (one shard), 2 rounds
        List<Put> puts = new ArrayList<>();
        List<Got> good = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String key = "key-" + (i % 2), seq = i < 4 ? "100" : "200", payload = "rec-" + i;
            puts.add(new Put(i, key, payload, "shardId-000000000000", seq, i / 4));
            good.add(new Got("shardId-000000000000", seq, i % 4, key, payload, true));
        }
        boolean ok = expect(true, "good deliveries", verdict("t", puts, good, false));
        List<Got> repeat = new ArrayList<>(good);
        repeat.add(good.get(2));
        ok &= expect(true, "a repeat", verdict("t", puts, repeat, false));
        ok &= expect(false, "a record missing", verdict("t", puts, good.subList(0, 7), false));
        ok &= expect(false, "an unknown record", verdict("t", puts, with(good, 0, g -> new Got(g.shard(), g.seq(), g.sub(), g.key(), "other", true)), false));
        ok &= expect(false, "a wrong partition key", verdict("t", puts, with(good, 3, g -> new Got(g.shard(), g.seq(), g.sub(), "key-9", g.payload(), true)), false));
        ok &= expect(false, "a wrong sequence number", verdict("t", puts, with(good, 5, g -> new Got(g.shard(), "300", 0, g.key(), g.payload(), true)), false));
        ok &= expect(false, "a wrong shard", verdict("t", puts, with(good, 5, g -> new Got("shardId-000000000001", g.seq(), g.sub(), g.key(), g.payload(), true)), false));
        ok &= expect(false, "a sub-sequence gap", verdict("t", puts, with(good, 7, g -> new Got(g.shard(), g.seq(), 9, g.key(), g.payload(), true)), false));
        List<Got> plain = new ArrayList<>();
        for (Got g : good) plain.add(new Got(g.shard(), g.seq(), g.sub(), g.key(), g.payload(), false));
        ok &= expect(false, "not aggregated", verdict("t", puts, plain, false));
        List<Got> swapped = new ArrayList<>(good);
        Collections.swap(swapped, 0, 2); // key-0: sub 2 before sub 0
        ok &= expect(false, "out of order within a Kinesis record", verdict("t", puts, swapped, false));
        List<Got> rounds = new ArrayList<>(good.subList(4, 8));
        rounds.addAll(good.subList(0, 4)); // round 1 before round 0
        ok &= expect(false, "a later round first", verdict("t", puts, rounds, false));
        return ok;
    }

    interface Edit { Got apply(Got g); }

    static List<Got> with(List<Got> l, int i, Edit e) {
        List<Got> c = new ArrayList<>(l);
        c.set(i, e.apply(c.get(i)));
        return c;
    }

    static boolean expect(boolean want, String what, boolean got) {
        if (want != got) System.out.println("FAIL selftest (KPL via KCL): " + what + ": verdict " + got + ", want " + want);
        return want == got;
    }

    private KplConsume() {}
}
