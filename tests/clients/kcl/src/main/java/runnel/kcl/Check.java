package runnel.kcl;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the workers' logs (worker-A.log, worker-B.log: one line per event, stamped with the wall
 * clock in ns) and the driver's (driver.log: the split, the kill) and asserts:
 *  - every record (key, counter) was processed at least once;
 *  - per partition key, counters arrive in order: each new one is the next; a counter at or
 *    below the highest seen is a redelivery, allowed only in a session that took a lease over
 *    from another session (failover or handoff), and within one session counters only go up;
 *  - parents before children: the split shard's end was checkpointed before any record of a
 *    child shard was processed;
 *  - failover: every lease worker A held when it was killed was taken over by worker B, which
 *    started after A's last checkpoint of that shard (not before it, not from the horizon).
 */
final class Check {
    record Ev(long t, String worker, char kind, String shard, String[] f) {}

    static List<Ev> read(Path dir) {
        List<Ev> evs = new ArrayList<>();
        for (String w : new String[] {"A", "B", "driver"}) {
            Path p = dir.resolve(w.equals("driver") ? "driver.log" : "worker-" + w + ".log");
            if (!Files.exists(p)) continue;
            List<String> lines;
            try {
                lines = Files.readAllLines(p, StandardCharsets.UTF_8);
            } catch (IOException e) {
                continue;
            }
            for (String l : lines) {
                String[] f = l.split(" ");
                if (f.length < 3 || f[0].length() != 1) continue; // a line cut by SIGKILL
                long t;
                try {
                    t = Long.parseLong(f[1]);
                } catch (NumberFormatException e) {
                    continue;
                }
                char kind = f[0].charAt(0);
                if (kind == 'R' && f.length < 7) continue;
                evs.add(new Ev(t, w, kind, f[2], f));
            }
        }
        evs.sort(Comparator.comparingLong(Ev::t));
        return evs;
    }

    static boolean allSeen(Path dir, int keys, int rounds) {
        Set<String> seen = new HashSet<>();
        for (Ev e : read(dir)) {
            if (e.kind == 'R') seen.add(e.f[4] + "#" + e.f[6]);
        }
        return seen.size() >= keys * rounds;
    }

    static final class Session {
        final String worker, shard;
        final long start;
        final boolean takeover;
        long end = Long.MAX_VALUE;
        int records;
        BigInteger firstSeq;
        final Map<String, Integer> lastCounter = new HashMap<>();

        Session(String worker, String shard, long start, boolean takeover) {
            this.worker = worker;
            this.shard = shard;
            this.start = start;
            this.takeover = takeover;
        }
    }

    static boolean run(Path dir, int keys, int rounds) {
        List<Ev> evs = read(dir);
        List<String> fail = new ArrayList<>();
        Map<String, Session> open = new HashMap<>();          // worker|shard -> session
        Map<String, List<Session>> byShard = new HashMap<>();  // shard -> sessions in order
        Map<String, Integer> maxSeen = new HashMap<>();
        Set<String> seen = new HashSet<>();
        String parent = null;
        long killAt = -1, parentEnd = -1;
        Map<String, BigInteger> lastCkptA = new HashMap<>();
        // every checkpoint (done: C, or begun: P) by any worker, and every record, per shard
        Map<String, List<Object[]>> ckpts = new HashMap<>();  // shard -> [time, seq]
        Map<String, java.util.TreeSet<BigInteger>> recs = new HashMap<>();
        Map<String, List<String[]>> recordsA = new HashMap<>();
        int redeliveries = 0, total = 0;

        for (Ev e : evs) {
            if (e.worker.equals("driver")) {
                if (e.kind == 'P') parent = e.shard;
                if (e.kind == 'K') {
                    killAt = e.t;
                    // A's open sessions end here.
                    for (Session s : open.values()) if (s.worker.equals("A")) s.end = e.t;
                    open.values().removeIf(s -> s.worker.equals("A"));
                }
                continue;
            }
            String id = e.worker + "|" + e.shard;
            switch (e.kind) {
                case 'I' -> {
                    List<Session> prev = byShard.computeIfAbsent(e.shard, x -> new ArrayList<>());
                    Session s = new Session(e.worker, e.shard, e.t, !prev.isEmpty());
                    prev.add(s);
                    open.put(id, s);
                }
                case 'R' -> {
                    Session s = open.get(id);
                    if (s == null) {
                        fail.add("record outside a session: " + String.join(" ", e.f));
                        continue;
                    }
                    String key = e.f[4];
                    int c = Integer.parseInt(e.f[6]);
                    BigInteger seq = new BigInteger(e.f[3]);
                    total++;
                    s.records++;
                    if (s.firstSeq == null) s.firstSeq = seq;
                    if (e.worker.equals("A")) recordsA.computeIfAbsent(e.shard, x -> new ArrayList<>()).add(e.f);
                    recs.computeIfAbsent(e.shard, x -> new java.util.TreeSet<>()).add(seq);
                    if (!e.f[4].equals(e.f[5])) fail.add("record data does not carry its key: " + String.join(" ", e.f));
                    if (parent != null && !e.shard.equals(parent) && isChildOf(e.shard, parent)) {
                        if (parentEnd < 0 || e.t < parentEnd)
                            fail.add("child " + e.shard + " record processed before parent " + parent
                                    + "'s end was checkpointed: " + key + " " + c);
                    }
                    Integer last = s.lastCounter.get(key);
                    if (last != null && c <= last)
                        fail.add("key " + key + " went backwards within one session of " + e.shard + " on " + e.worker
                                + ": " + last + " then " + c);
                    s.lastCounter.put(key, c);
                    int max = maxSeen.getOrDefault(key, 0);
                    if (c == max + 1) {
                        maxSeen.put(key, c);
                    } else if (c <= max) {
                        redeliveries++;
                        if (!s.takeover)
                            fail.add("key " + key + " counter " + c + " after " + max + " on " + e.shard + " ("
                                    + e.worker + ") in a session that took no lease over");
                        else if (!seen.contains(key + "#" + c))
                            fail.add("key " + key + " counter " + c + " arrived after " + max + " (out of order)");
                    } else {
                        fail.add("key " + key + " counter " + c + " arrived after " + max + " on " + e.shard
                                + " (" + e.worker + "): out of order or a gap");
                        maxSeen.put(key, c);
                    }
                    seen.add(key + "#" + c);
                }
                case 'C' -> {
                    if (e.worker.equals("A")) lastCkptA.put(e.shard, new BigInteger(e.f[3]));
                    ckpts.computeIfAbsent(e.shard, x -> new ArrayList<>()).add(new Object[] {e.t, new BigInteger(e.f[3])});
                }
                case 'P' -> { // a checkpoint begun: it may have reached the lease table before a kill
                    ckpts.computeIfAbsent(e.shard, x -> new ArrayList<>()).add(new Object[] {e.t, new BigInteger(e.f[3])});
                }
                case 'E' -> {
                    if (e.shard.equals(parent) && parentEnd < 0) parentEnd = e.t;
                    Session s = open.remove(id);
                    if (s != null) s.end = e.t;
                }
                case 'L', 'S' -> {
                    Session s = open.remove(id);
                    if (s != null) s.end = e.t;
                }
                default -> { }
            }
        }

        // Every record at least once.
        int missing = 0;
        for (int k = 0; k < keys; k++)
            for (int c = 1; c <= rounds; c++)
                if (!seen.contains("key-" + k + "#" + c)) missing++;
        if (missing > 0) fail.add(missing + " of " + keys * rounds + " records never processed");
        if (parent == null) fail.add("no split recorded by the driver");
        else if (parentEnd < 0) fail.add("the parent " + parent + " never reached a checkpointed shard end");
        boolean sawChild = false;
        for (String sh : byShard.keySet()) if (parent != null && isChildOf(sh, parent)) sawChild = true;
        if (!sawChild) fail.add("no child shard was ever processed");

        // Failover: every shard A held at the kill is taken over by B after A's last checkpoint.
        int takenOver = 0;
        if (killAt < 0) fail.add("worker A was not killed");
        for (Map.Entry<String, List<Session>> en : byShard.entrySet()) {
            for (Session s : en.getValue()) {
                if (!s.worker.equals("A") || s.end != killAt) continue;
                Session next = null;
                for (Session t : en.getValue()) if (t.start > killAt && t.records > 0) { next = t; break; }
                if (next == null) {
                    // A held a lease with nothing left to read (a shard it had already ended)?
                    if (s.records > 0 || hasRecordsAfter(evs, en.getKey(), killAt))
                        fail.add("shard " + en.getKey() + " held by A at the kill was never taken over");
                    continue;
                }
                takenOver++;
                BigInteger ck = lastCkptA.get(en.getKey());
                if (ck != null && next.firstSeq.compareTo(ck) <= 0)
                    fail.add("B resumed " + en.getKey() + " at " + next.firstSeq + ", at or before A's checkpoint " + ck);
                if (ck != null) {
                    // B's first record is the one right after the last checkpoint in the lease table
                    // when B's session began: the latest done (C) or begun (P) before it, by A or by B
                    // (B may have held the shard before the kill and checkpointed it itself).
                    BigInteger lastDone = null, lastBegun = null;
                    for (Object[] k : ckpts.getOrDefault(en.getKey(), List.of())) {
                        if ((long) k[0] >= next.start) continue;
                        lastBegun = (BigInteger) k[1]; // in log order
                    }
                    for (Object[] k : ckpts.getOrDefault(en.getKey(), List.of()))
                        if ((long) k[0] < next.start && (lastDone == null || ((BigInteger) k[1]).compareTo(lastDone) > 0))
                            lastDone = (BigInteger) k[1];
                    java.util.TreeSet<BigInteger> all = recs.getOrDefault(en.getKey(), new java.util.TreeSet<>());
                    BigInteger after = lastDone == null ? null : all.higher(lastDone);
                    BigInteger afterBegun = lastBegun == null ? null : all.higher(lastBegun);
                    if (after != null && after.compareTo(next.firstSeq) != 0
                            && (afterBegun == null || afterBegun.compareTo(next.firstSeq) != 0))
                        fail.add("B resumed " + en.getKey() + " at " + next.firstSeq
                                + ", not at the record after the last checkpoint before it " + after
                                + (afterBegun != null ? " (nor after the last one begun, " + afterBegun + ")" : ""));
                } else if (next.firstSeq.compareTo(BigInteger.ZERO) <= 0) {
                    fail.add("bad first sequence number on " + en.getKey());
                }
            }
        }
        if (killAt >= 0 && takenOver == 0) fail.add("worker A held no lease with records when killed: no failover tested");

        int sessions = 0;
        for (List<Session> l : byShard.values()) sessions += l.size();
        System.out.printf("[check] %d records processed (%d distinct of %d, %d redelivered), %d shards, "
                        + "%d lease sessions, %d shards taken over from the killed worker, parent %s%n",
                total, seen.size(), keys * rounds, redeliveries, byShard.size(), sessions, takenOver, parent);
        for (String f : fail.subList(0, Math.min(fail.size(), 30))) System.out.println("[check] FAIL " + f);
        if (fail.size() > 30) System.out.println("[check] ... " + (fail.size() - 30) + " more");
        if (fail.isEmpty()) System.out.println("[check] OK");
        return fail.isEmpty();
    }

    /** The only split is of `parent` (an original shard, 0..3); its children are the shards after 3. */
    static boolean isChildOf(String shard, String parent) {
        try {
            return Integer.parseInt(shard.substring(shard.indexOf('-') + 1)) > 3;
        } catch (RuntimeException e) {
            return false;
        }
    }

    static boolean hasRecordsAfter(List<Ev> evs, String shard, long t) {
        for (Ev e : evs) if (e.kind == 'R' && e.shard.equals(shard) && e.t > t) return true;
        return false;
    }

    // ---- self-test: the checks fail on logs that show each breakage ------------------------

    static final String[] GOOD_A = {
        "I 10 shardId-000000000000 TRIM_HORIZON", "I 20 shardId-000000000001 TRIM_HORIZON",
        "R 30 shardId-000000000000 10 key-0 key-0 1", "R 40 shardId-000000000000 11 key-0 key-0 2",
        "R 50 shardId-000000000001 20 key-1 key-1 1", "R 60 shardId-000000000001 21 key-1 key-1 2",
        "C 70 shardId-000000000001 21", "E 80 shardId-000000000000",
        "R 90 shardId-000000000001 22 key-1 key-1 3"};
    static final String[] GOOD_B = {
        "I 100 shardId-000000000004 TRIM_HORIZON",
        "R 110 shardId-000000000004 30 key-0 key-0 3", "R 130 shardId-000000000004 31 key-0 key-0 4",
        "I 140 shardId-000000000001 21",
        "R 150 shardId-000000000001 22 key-1 key-1 3", "R 160 shardId-000000000001 23 key-1 key-1 4"};
    static final String[] DRIVER = {"P 25 shardId-000000000000 split", "K 120 A"};

    static boolean verdict(Path dir, String[] a, String[] b) throws IOException {
        Files.write(dir.resolve("worker-A.log"), List.of(a));
        Files.write(dir.resolve("worker-B.log"), List.of(b));
        Files.write(dir.resolve("driver.log"), List.of(DRIVER));
        return run(dir, 2, 4);
    }

    static String[] edit(String[] l, String from, String to) {
        String[] r = l.clone();
        for (int i = 0; i < r.length; i++) if (r[i].equals(from)) { r[i] = to; return r; }
        throw new IllegalArgumentException(from);
    }

    static boolean selfTest() throws IOException {
        Path dir = Files.createTempDirectory("kcl-check");
        boolean ok = true;
        try {
            ok &= expect(true, "good logs", verdict(dir, GOOD_A, GOOD_B));
            ok &= expect(false, "a record never processed", verdict(dir, GOOD_A,
                    java.util.Arrays.copyOf(GOOD_B, GOOD_B.length - 1)));
            ok &= expect(false, "a child record before the parent's end", verdict(dir,
                    edit(GOOD_A, "E 80 shardId-000000000000", "E 112 shardId-000000000000"), GOOD_B));
            ok &= expect(false, "counters backwards in a child", verdict(dir, GOOD_A,
                    edit(edit(GOOD_B, "R 110 shardId-000000000004 30 key-0 key-0 3",
                            "R 110 shardId-000000000004 30 key-0 key-0 4"),
                            "R 130 shardId-000000000004 31 key-0 key-0 4", "R 130 shardId-000000000004 31 key-0 key-0 3")));
            ok &= expect(false, "a duplicate with no failover", verdict(dir,
                    edit(GOOD_A, "R 50 shardId-000000000001 20 key-1 key-1 1", "R 50 shardId-000000000000 12 key-0 key-0 1"),
                    GOOD_B));
            ok &= expect(false, "the replacement resumed before the checkpoint", verdict(dir, GOOD_A,
                    edit(GOOD_B, "R 150 shardId-000000000001 22 key-1 key-1 3", "R 150 shardId-000000000001 21 key-1 key-1 3")));
            ok &= expect(false, "the replacement skipped a record after the checkpoint", verdict(dir, GOOD_A,
                    edit(GOOD_B, "R 150 shardId-000000000001 22 key-1 key-1 3", "R 150 shardId-000000000001 23 key-1 key-1 3")));
            ok &= expect(false, "the killed worker's lease never taken over", verdict(dir, GOOD_A,
                    java.util.Arrays.copyOf(GOOD_B, 3)));
        } finally {
            for (String f : new String[] {"worker-A.log", "worker-B.log", "driver.log"}) Files.deleteIfExists(dir.resolve(f));
            Files.deleteIfExists(dir);
        }
        System.out.println(ok ? "[selftest] OK: the checks pass good logs and fail each broken one"
                : "[selftest] FAILED");
        return ok;
    }

    static boolean expect(boolean want, String what, boolean got) {
        System.out.println("[selftest] " + what + ": " + (got ? "pass" : "fail") + (got == want ? "" : "  <-- WRONG"));
        return got == want;
    }

    private Check() {}
}
