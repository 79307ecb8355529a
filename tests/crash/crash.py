#!/usr/bin/env python3
"""crash.py: crash consistency of runnel's disk store, proven at many crash points
(docs/testing.md, "Crash consistency").

1. record: runnel runs on a tmpfs directory with tests/crash/crashrec.so preloaded, which logs
   every write, truncate, fallocate, fsync/fdatasync, syncfs, create, rename and unlink under
   the data directory, each dated by a shared counter. Client threads (boto3, no retries)
   create streams, put records (PutRecord and PutRecords, 1 B to 30 KiB), split a shard and
   delete a stream, noting the counter before each request is sent and after its answer
   arrives. Then runnel is killed with SIGKILL.
2. check: for each crash point c (a counter value) the on-disk state a power loss at c could
   leave is built: every file holds what its last covering fsync made durable (fsync/fdatasync
   of the file, syncfs), plus a chosen subset of the writes since (none, all, or a random
   subset with torn 512-byte sectors); every directory holds what its last fsync made durable
   plus a chosen prefix of the later creates, renames and unlinks. runnel is started on that
   state (no preload) and must open and answer; then:
     - every record acknowledged before c is there, once, with its sequence number and shard;
     - every record there was sent before c, holds exactly the bytes sent, appears once, and
       (if it was ever acknowledged) carries the acknowledged sequence number and shard;
     - per shard, records come back in strictly increasing sequence order, with no hole
       between two records there among records of that shard the run acknowledged;
     - a stream whose creation (or split) was acknowledged before c exists (with its children);
       one whose deletion was acknowledged before c does not;
     - the reopened store takes a new record on every open shard, above every sequence there.
3. crash during recovery (--recoveries R): for R of those states (before they are checked), a
   copy is opened again under the preload (the store's recovery: journal replay, folding, torn
   tail truncation, SQLite's WAL recovery, the checkpoints after) and killed 0.25 s after it
   answers; the recovery's own calls
   are modelled the same way on top of the state (every file of it durable), and the states a
   power loss during recovery could leave (--recovery-points K each) are checked as in 2,
   against the same acknowledgements. `--recovery-hide sync` is its self-test: the recoveries'
   fsyncs hidden, the loss must be found.
Usage: crash.py [--points N] [--variants V] [--seed S] [--records-scale K] [--keep]
                [--recoveries R] [--recovery-points K] [--recovery-hide sync|dirsync]
Exit status 0 when every state passes; the first failures are printed with the seed and point.
"""
import argparse
import json
import mmap
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import botocore.config
import botocore.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNNEL = os.environ.get("RUNNEL_BIN", os.path.join(ROOT, "build", "runnel"))
PRELOAD = os.environ.get("CRASHREC_SO", os.path.join(ROOT, "build", "tests", "crash", "crashrec.so"))
# Small journal files and frequent checkpoints so a short run rolls and recycles journal files
# and folds records into the shards' segments many times.
SERVE_FLAGS = ["--fsync", "always", "--journal-bytes", "1048576", "--checkpoint-bytes", "196608",
               "--checkpoint-interval", "40", "--log-level", "warn"]
SECTOR = 512
W, TRUNC, SYNC, SYNCFS, CREATE, UNLINK, RENAME, EXTEND = range(1, 9)
F_ZERO, F_DIR = 1, 2


def log(msg):
    print(f"crash: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=15.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.005)
    return False


_session = boto3.session.Session()


def client(port):
    return _session.client(
        "kinesis", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"},
                                      connect_timeout=5, read_timeout=20))


def kill(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


# ---- 1. record ------------------------------------------------------------------------------

class Recorder:
    def __init__(self, work, seed, scale, hide=None):
        self.work, self.seed, self.scale, self.hide = work, seed, scale, hide
        self.data_dir = os.path.join(work, "data")
        self.trace = os.path.join(work, "trace")
        self.ctr_path = os.path.join(work, "ctr")
        self.events = []  # dicts, see run()
        self.records = {}  # id -> {stream, pk, data(hex), sent, ack, shard, seq, thread}
        self.lock = threading.Lock()

    def now(self):
        return struct.unpack_from("<Q", self.mm, 0)[0]

    def run(self):
        os.makedirs(self.data_dir)
        with open(self.ctr_path, "wb") as f:
            f.write(b"\0" * 4096)
        fd = os.open(self.ctr_path, os.O_RDWR)
        self.mm = mmap.mmap(fd, 4096)
        os.close(fd)
        self.port = free_port()
        env = dict(os.environ, LD_PRELOAD=PRELOAD, CRASHREC_ROOT=self.data_dir,
                   CRASHREC_TRACE=self.trace, CRASHREC_CTR=self.ctr_path, CRASHREC_HIDE=self.hide or "")
        self.proc = subprocess.Popen([RUNNEL, "serve", "--data-dir", self.data_dir, "--listen",
                                      f"127.0.0.1:{self.port}"] + SERVE_FLAGS,
                                     env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.work, "record.log"), "w"))
        try:
            if not wait_port(self.port, self.proc):
                raise RuntimeError("runnel did not start under the preload (see record.log)")
            self.workload()
        finally:
            kill(self.proc)
        self.end = self.now()
        with open(os.path.join(self.work, "run.json"), "w") as f:
            json.dump({"events": self.events, "records": self.records, "end": self.end,
                       "seed": self.seed}, f)
        log(f"recorded {len(self.records)} records, {len(self.events)} control events, "
            f"counter {self.end}, trace {os.path.getsize(self.trace)} bytes")

    def control(self, c, name, fn, wait=None):
        ev = {"op": name, "sent": self.now()}
        fn()
        if wait:
            wait()
        ev["ack"] = self.now()
        self.events.append(ev)

    def wait_active(self, c, stream):
        for _ in range(2000):
            if c.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                return
            time.sleep(0.005)
        raise RuntimeError(f"{stream} never ACTIVE")

    def wait_gone(self, c, stream):
        for _ in range(2000):
            try:
                c.describe_stream_summary(StreamName=stream)
            except c.exceptions.ResourceNotFoundException:
                return
            time.sleep(0.005)
        raise RuntimeError(f"{stream} never deleted")

    def workload(self):
        c = client(self.port)
        self.control(c, "create:A", lambda: c.create_stream(StreamName="A", ShardCount=4),
                     lambda: self.wait_active(c, "A"))
        self.control(c, "create:B", lambda: c.create_stream(StreamName="B", ShardCount=2),
                     lambda: self.wait_active(c, "B"))
        self.b_open = True
        stop = threading.Event()
        errors = []
        threads = [threading.Thread(target=self.producer, args=(t, stop, errors)) for t in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.25 * self.scale)
        shard0 = c.list_shards(StreamName="A")["Shards"][0]
        lo, hi = int(shard0["HashKeyRange"]["StartingHashKey"]), int(shard0["HashKeyRange"]["EndingHashKey"])
        self.control(c, "split:A", lambda: c.split_shard(StreamName="A", ShardToSplit=shard0["ShardId"],
                                                          NewStartingHashKey=str((lo + hi) // 2)),
                     lambda: self.wait_active(c, "A"))
        time.sleep(0.25 * self.scale)
        self.b_open = False
        time.sleep(0.05)
        self.control(c, "delete:B", lambda: c.delete_stream(StreamName="B"), lambda: self.wait_gone(c, "B"))
        time.sleep(0.25 * self.scale)
        stop.set()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError(f"producer failed: {errors[0]}")

    def producer(self, t, stop, errors):
        rnd = random.Random(self.seed * 31 + t)
        c = client(self.port)
        n = 0
        try:
            while not stop.is_set():
                stream = "B" if (self.b_open and rnd.random() < 0.2) else "A"
                batch = 1 if rnd.random() < 0.6 else rnd.randint(2, 40)
                recs = []
                for _ in range(batch):
                    rid = f"{t}-{n}"
                    n += 1
                    size = rnd.choice([1, 20, 100, 700, 3000]) if rnd.random() < 0.95 else rnd.randint(8000, 30000)
                    body = (rid + ":").encode() + rnd.randbytes(max(0, size - len(rid) - 1))
                    recs.append({"id": rid, "stream": stream, "pk": f"k{rnd.randint(0, 999)}",
                                 "data": body.hex(), "thread": t})
                sent = self.now()
                for r in recs:
                    r["sent"] = sent
                with self.lock:
                    for r in recs:
                        self.records[r["id"]] = r
                try:
                    if batch == 1:
                        r = recs[0]
                        out = c.put_record(StreamName=stream, PartitionKey=r["pk"], Data=bytes.fromhex(r["data"]))
                        results = [out]
                    else:
                        out = c.put_records(StreamName=stream, Records=[
                            {"PartitionKey": r["pk"], "Data": bytes.fromhex(r["data"])} for r in recs])
                        results = out["Records"]
                except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                    if stream == "B":  # B may be going away under this write
                        continue
                    raise
                ack = self.now()
                for r, res in zip(recs, results):
                    if "SequenceNumber" in res:
                        r.update(ack=ack, shard=res["ShardId"], seq=res["SequenceNumber"])
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(repr(e))


# ---- the trace --------------------------------------------------------------------------------

class Op:
    __slots__ = ("type", "flags", "start", "end", "ino", "dino", "dino2", "off", "len", "n1", "n2",
                 "data", "obj", "src")


def read_trace(path):
    ops = []
    with open(path, "rb") as f:
        d = f.read()
    i, hdr = 0, struct.Struct("<BBHHHQQQQQQQ")
    while i < len(d):
        o = Op()
        (o.type, o.flags, n1, n2, _, o.start, o.end, o.ino, o.dino, o.dino2, o.off, o.len) = hdr.unpack_from(d, i)
        i += 64
        o.n1 = d[i:i + n1].decode()
        i += n1
        o.n2 = d[i:i + n2].decode()
        i += n2
        o.data = None
        if o.type == W and not (o.flags & F_ZERO):
            o.data = d[i:i + o.len]
            i += o.len
        o.obj = o.src = None
        ops.append(o)
    ops.sort(key=lambda o: o.end)
    return ops


class Obj:
    """A file or directory: what is durable, and what was done to it since."""
    __slots__ = ("dir", "durable", "pending", "name")

    def __init__(self, is_dir, name):
        self.dir = is_dir
        self.durable = {} if is_dir else bytearray()
        self.pending = []
        self.name = name


def apply_file(buf, o, sectors=None):
    if o.type == W:
        end = o.off + o.len
        if len(buf) < end:
            buf.extend(bytes(end - len(buf)))
        src = o.data if o.data is not None else bytes(o.len)
        if sectors is None:
            buf[o.off:end] = src
        else:  # torn: only some of the sectors the write touched
            for s0 in sectors:
                a, b = max(o.off, s0), min(end, s0 + SECTOR)
                buf[a:b] = src[a - o.off:b - o.off]
    elif o.type == TRUNC:
        if len(buf) > o.len:
            del buf[o.len:]
        else:
            buf.extend(bytes(o.len - len(buf)))
    elif o.type == EXTEND and len(buf) < o.len:
        buf.extend(bytes(o.len - len(buf)))


def apply_dir(ents, o, all_ents):
    if o.type == CREATE:
        ents[o.n1] = o.obj
    elif o.type == UNLINK:
        ents.pop(o.n1, None)
    elif o.type == RENAME:
        src = all_ents.get(id(o.src), ents) if o.src is not None else ents
        if src.get(o.n1) is o.obj:
            src.pop(o.n1, None)
        ents[o.n2] = o.obj


class Model:
    """Sweeps the trace in end order, keeping each object's durable state and its pending ops."""

    def __init__(self, ops, root_ino, existing=None):
        self.ops, self.i = ops, 0
        self.root = Obj(True, "")
        self.objs = {root_ino: self.root}
        self.all = [self.root]
        if existing:
            self.seed(existing, self.root)

    def seed(self, path, d):
        """A tree on disk before the recording began, all of it durable, keyed by inode."""
        for name in sorted(os.listdir(path)):
            q = os.path.join(path, name)
            st = os.lstat(q)
            o = Obj(os.path.isdir(q), name)
            if o.dir:
                self.seed(q, o)
            else:
                with open(q, "rb") as f:
                    o.durable = bytearray(f.read())
            self.objs[st.st_ino] = o
            self.all.append(o)
            d.durable[name] = o

    def flush(self, obj, before):
        k = 0
        while k < len(obj.pending) and obj.pending[k].end < before:
            o = obj.pending[k]
            if obj.dir:
                apply_dir(obj.durable, o, {id(x): x.durable for x in ([o.src] if o.src else [])})
            else:
                apply_file(obj.durable, o)
            k += 1
        if k:
            del obj.pending[:k]

    def advance(self, c):
        while self.i < len(self.ops) and self.ops[self.i].end < c:
            o = self.ops[self.i]
            self.i += 1
            if o.type in (W, TRUNC, EXTEND):
                obj = self.objs.get(o.ino)
                if obj is not None:
                    obj.pending.append(o)
            elif o.type == CREATE:
                o.obj = Obj(bool(o.flags & F_DIR), o.n1)
                self.objs[o.ino] = o.obj
                self.all.append(o.obj)
                d = self.objs.get(o.dino)
                if d is not None:
                    d.pending.append(o)
            elif o.type == UNLINK:
                d = self.objs.get(o.dino)
                if d is not None:
                    d.pending.append(o)
            elif o.type == RENAME:
                o.obj = self.objs.get(o.ino)
                src, dst = self.objs.get(o.dino), self.objs.get(o.dino2)
                o.src = src if src is not dst else None
                if dst is not None and o.obj is not None:
                    dst.pending.append(o)
            elif o.type == SYNC:
                obj = self.objs.get(o.ino)
                if obj is not None:
                    self.flush(obj, o.start)
            elif o.type == SYNCFS:
                for obj in self.all:
                    self.flush(obj, o.start)

    def in_flight(self, c):
        """Writes started before c that had not returned at c (they may or may not have landed)."""
        out = []
        for o in self.ops[self.i:self.i + 64]:
            if o.start < c and o.type in (W, TRUNC, EXTEND):
                out.append(o)
        return out

    def materialize(self, dest, c, mode, rnd):
        """Write the state a crash at c could leave into dest. mode: synced | all | random."""
        extra = {}
        for o in self.in_flight(c):
            obj = self.objs.get(o.ino)
            if obj is not None:
                extra.setdefault(id(obj), []).append(o)
        p = rnd.random()
        ents = {}
        for d in self.all:
            if d.dir:
                ents[id(d)] = dict(d.durable)
        for d in self.all:
            if not d.dir or not d.pending:
                continue
            k = 0 if mode == "synced" else len(d.pending) if mode == "all" else rnd.randint(0, len(d.pending))
            for o in d.pending[:k]:
                apply_dir(ents[id(d)], o, ents)
        torn = {"n": 0}

        def content(f):
            buf = bytearray(f.durable)
            cand = f.pending + extra.get(id(f), [])
            for o in cand:
                if mode == "synced":
                    break
                if mode == "all" or rnd.random() < p:
                    if mode == "random" and o.type == W and rnd.random() < 0.15:
                        first = o.off // SECTOR * SECTOR
                        secs = list(range(first, o.off + o.len, SECTOR))
                        keep = [s for s in secs if rnd.random() < 0.5]
                        torn["n"] += 1
                        apply_file(buf, o, keep)
                    else:
                        apply_file(buf, o)
            return buf

        def walk(d, path, depth):
            if depth > 16:
                return
            os.makedirs(path, exist_ok=True)
            for name, obj in ents[id(d)].items():
                if name.endswith("-shm"):  # SQLite rebuilds its shared-memory index after a crash
                    continue
                q = os.path.join(path, name)
                if obj.dir:
                    walk(obj, q, depth + 1)
                else:
                    with open(q, "wb") as f:
                        f.write(content(obj))
        walk(self.root, dest, 0)
        return torn["n"]


# ---- 2. check ----------------------------------------------------------------------------------

def read_stream(c, stream):
    """Every shard's records from TRIM_HORIZON: {shard_id: [record, ...]}, and the shard list."""
    shards, tok = [], None
    while True:
        out = c.list_shards(NextToken=tok) if tok else c.list_shards(StreamName=stream)
        shards += out["Shards"]
        tok = out.get("NextToken")
        if not tok:
            break
    got = {}
    for s in shards:
        it = c.get_shard_iterator(StreamName=stream, ShardId=s["ShardId"],
                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        recs = []
        for _ in range(10000):
            out = c.get_records(ShardIterator=it, Limit=10000)
            recs += out["Records"]
            it = out.get("NextShardIterator")
            if not it or (not out["Records"] and out.get("MillisBehindLatest", 0) == 0):
                break
        got[s["ShardId"]] = recs
    return shards, got


def stream_exists(c, stream):
    try:
        c.describe_stream_summary(StreamName=stream)
        return True
    except c.exceptions.ResourceNotFoundException:
        return False


def check_state(state_dir, c_point, run, work):
    """Open runnel on state_dir; return a list of failure strings (empty: the state passes)."""
    port = free_port()
    errlog = open(os.path.join(work, "check.log"), "w")
    proc = subprocess.Popen([RUNNEL, "serve", "--data-dir", state_dir, "--listen", f"127.0.0.1:{port}"]
                            + SERVE_FLAGS, stdout=subprocess.DEVNULL, stderr=errlog)
    fails = []
    try:
        if not wait_port(port, proc):
            errlog.flush()
            return [f"runnel did not open the store: {open(errlog.name).read()[-600:]!r}"]
        c = client(port)
        ev = {e["op"]: e for e in run["events"]}
        acked = lambda e: e is not None and e["ack"] <= c_point  # noqa: E731
        sent = lambda e: e is not None and e["sent"] < c_point  # noqa: E731
        by_data = {}
        for r in run["records"].values():
            by_data[bytes.fromhex(r["data"])] = r
        seen = set()
        for stream in ("A", "B"):
            exists = stream_exists(c, stream)
            if stream == "B" and acked(ev.get("delete:B")):
                if exists:
                    fails.append("stream B is back after its deletion was acknowledged")
                continue
            if not exists:
                # missing is wrong only when its creation was acknowledged and no deletion had been sent
                if acked(ev.get(f"create:{stream}")) and not sent(ev.get(f"delete:{stream}")):
                    fails.append(f"stream {stream} is missing; its creation was acknowledged")
                continue
            shards, got = read_stream(c, stream)
            ids = {s["ShardId"] for s in shards}
            if stream == "A" and acked(ev.get("split:A")) and not {"shardId-000000000004", "shardId-000000000005"} <= ids:
                fails.append(f"the split of A was acknowledged but its children are missing: {sorted(ids)}")
            for sid, recs in got.items():
                prev = -1
                for rec in recs:
                    r = by_data.get(bytes(rec["Data"]))
                    seq = int(rec["SequenceNumber"])
                    if seq <= prev:
                        fails.append(f"{stream}/{sid}: sequence {seq} after {prev}")
                    prev = seq
                    if r is None:
                        fails.append(f"{stream}/{sid}: a record nobody sent ({len(rec['Data'])} bytes, seq {seq})")
                        continue
                    if r["id"] in seen:
                        fails.append(f"{stream}/{sid}: record {r['id']} appears twice")
                    seen.add(r["id"])
                    if r["stream"] != stream or r["sent"] >= c_point:
                        fails.append(f"{stream}/{sid}: record {r['id']} (sent at {r['sent']}, stream {r['stream']}) cannot be here")
                    if "seq" in r and (r["seq"] != rec["SequenceNumber"] or r["shard"] != sid):
                        fails.append(f"{stream}/{sid}: record {r['id']} has seq {rec['SequenceNumber']}, acknowledged as {r['shard']}/{r['seq']}")
                    if rec["PartitionKey"] != r["pk"]:
                        fails.append(f"{stream}/{sid}: record {r['id']} has partition key {rec['PartitionKey']!r}")
                # no hole: every acknowledged record of this shard between the first and the last one there
                if recs:
                    lo, hi = int(recs[0]["SequenceNumber"]), int(recs[-1]["SequenceNumber"])
                    for r in run["records"].values():
                        if r.get("shard") == sid and r["stream"] == stream and lo < int(r["seq"]) < hi and r["id"] not in seen:
                            fails.append(f"{stream}/{sid}: hole: {r['id']} (seq {r['seq']}) is missing between records that are there")
            for r in run["records"].values():
                if r["stream"] == stream and r.get("ack", c_point + 1) <= c_point and r["id"] not in seen:
                    fails.append(f"{stream}: acknowledged record {r['id']} ({r['shard']}/{r['seq']}) is lost")
            # the store takes new writes above everything there
            for s in shards:
                if "EndingSequenceNumber" in s["SequenceNumberRange"]:
                    continue
                top = max([int(x["SequenceNumber"]) for x in got.get(s["ShardId"], [])] or [0])
                lo = int(s["HashKeyRange"]["StartingHashKey"])
                out = c.put_record(StreamName=stream, PartitionKey="x", ExplicitHashKey=str(lo), Data=b"after")
                if out["ShardId"] != s["ShardId"] or int(out["SequenceNumber"]) <= top:
                    fails.append(f"{stream}/{s['ShardId']}: a new record got {out['ShardId']}/{out['SequenceNumber']}, at or below {top}")
        return fails
    except Exception as e:  # noqa: BLE001 - any failure to serve is a failure of the state
        return [f"runnel failed on the state: {e!r}"]
    finally:
        kill(proc)
        errlog.close()


def record_recovery(state_dir, work, hide=None):
    """Open a copy of state_dir under the preload and kill -9 runnel a little after it has
    answered (its recovery done, and the checkpoints after it). Returns a Model of the recovery's calls on top of the state as it was (every
    file of it durable), and the counter at the kill."""
    rdir = os.path.join(work, "recovery")
    shutil.rmtree(rdir, ignore_errors=True)
    shutil.copytree(state_dir, rdir)
    trace, ctr = os.path.join(work, "trace-recovery"), os.path.join(work, "ctr-recovery")
    if os.path.exists(trace):
        os.unlink(trace)
    with open(ctr, "wb") as f:
        f.write(b"\0" * 4096)
    root_ino = os.stat(rdir).st_ino
    seeded = Model([], root_ino, existing=rdir)  # read before the recovery changes anything
    port = free_port()
    env = dict(os.environ, LD_PRELOAD=PRELOAD, CRASHREC_ROOT=rdir, CRASHREC_TRACE=trace,
               CRASHREC_CTR=ctr, CRASHREC_HIDE=hide or "")
    proc = subprocess.Popen([RUNNEL, "serve", "--data-dir", rdir, "--listen", f"127.0.0.1:{port}"]
                            + SERVE_FLAGS, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(work, "recovery.log"), "w"))
    try:
        if wait_port(port, proc):
            try:
                client(port).list_streams()
            except Exception:  # noqa: BLE001 - an answer is all that is waited for
                pass
            time.sleep(0.25)  # and the checkpoints that follow the replay (--checkpoint-interval 40)
    finally:
        kill(proc)
    with open(ctr, "rb") as f:
        end = struct.unpack_from("<Q", f.read(8), 0)[0]
    seeded.ops = read_trace(trace) if os.path.exists(trace) else []
    shutil.rmtree(rdir, ignore_errors=True)
    return seeded, end


def check_recovery_crashes(state_dir, cp, run, work, rnd, k, modes, hide=None, stop_early=False):
    """States a power loss during the recovery of state_dir (a state a crash at cp could leave)
    could leave, checked against the acknowledgements of the run up to cp. Returns (states
    checked, recovery calls recorded, [(recovery point, mode, failures)])."""
    model, end = record_recovery(state_dir, work, hide)
    points = choose_points(model.ops, end, k, rnd) if end else [1]
    states, failed = 0, []
    for rp in points:
        model.advance(rp)
        for mode in modes:
            sd = os.path.join(work, "state-recovery")
            shutil.rmtree(sd, ignore_errors=True)
            model.materialize(sd, rp, mode, rnd)
            fails = check_state(sd, cp, run, work)
            states += 1
            if fails:
                failed.append((rp, mode, fails))
                if stop_early:
                    return states, len(model.ops), failed
    return states, len(model.ops), failed


def choose_points(ops, end, n, rnd):
    """Crash points: just after durability-relevant calls (syncs, renames, unlinks, creates)
    and uniformly at random, always including the end."""
    key = [o.end + 1 for o in ops if o.type in (SYNC, SYNCFS, RENAME, UNLINK, CREATE, TRUNC)]
    pts = set(rnd.sample(key, min(len(key), n // 2)))
    while len(pts) < n - 1:
        pts.add(rnd.randint(1, end))
    pts.add(end + 1)
    return sorted(pts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=int(os.environ.get("CRASH_POINTS", "120")))
    ap.add_argument("--variants", type=int, default=int(os.environ.get("CRASH_VARIANTS", "2")),
                    help="states per point: 1 = last-fsync state only, 2 = also all writes, 3+ = random subsets")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CRASH_SEED", "0")) or random.randrange(1, 2**31))
    ap.add_argument("--records-scale", type=float, default=float(os.environ.get("CRASH_SCALE", "1")))
    ap.add_argument("--keep", action="store_true", help="keep the work directory (printed)")
    ap.add_argument("--hide", choices=["sync", "dirsync"],
                    help="self-test: record as if runnel made no fsyncs (or no directory fsyncs); "
                         "the run must then find acknowledged data lost, and exits 0 only if it does")
    ap.add_argument("--recoveries", type=int, default=int(os.environ.get("CRASH_RECOVERIES", "0")),
                    help="states whose recovery is recorded and crashed in too")
    ap.add_argument("--recovery-points", type=int, default=int(os.environ.get("CRASH_RECOVERY_POINTS", "4")),
                    help="crash points in each recorded recovery")
    ap.add_argument("--recovery-hide", choices=["sync", "dirsync"],
                    help="self-test of the recovery crashes: hide the recoveries' fsyncs (the first run's "
                         "are kept); exits 0 only if a loss is found")
    a = ap.parse_args()
    for p in (RUNNEL, PRELOAD):
        if not os.path.exists(p):
            sys.exit(f"crash: {p} is missing (make build)")
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    work = tempfile.mkdtemp(prefix="runnel-crash-", dir=base)
    log(f"seed {a.seed}, work {work}, {a.points} points x {a.variants} variants")
    rnd = random.Random(a.seed)
    t0 = time.monotonic()
    # private copies, so a rebuild during a long run changes nothing under it
    for name in ("RUNNEL", "PRELOAD"):
        src = globals()[name]
        dst = os.path.join(work, os.path.basename(src))
        shutil.copy2(src, dst)
        globals()[name] = dst
    rc = 1
    try:
        rec = Recorder(work, a.seed, a.records_scale, a.hide)
        rec.run()
        with open(os.path.join(work, "run.json")) as f:
            run = json.load(f)
        ops = read_trace(rec.trace)
        root_ino = os.stat(rec.data_dir).st_ino
        points = choose_points(ops, run["end"], a.points, rnd)
        model = Model(ops, root_ino)
        modes = (["synced", "all"] + ["random"] * max(0, a.variants - 2))[:max(1, a.variants)]
        states = failed = torn = 0
        first_fail = []
        # the states whose recovery is crashed in too: evenly spread over the run, "all" writes
        # (the most journal left to replay) when the variants have it
        rmode = "all" if "all" in modes else modes[0]
        rpoints = set(points[len(points) * (i + 1) // (a.recoveries + 1)] for i in range(a.recoveries)) \
            if a.recoveries and len(points) else set()
        rstates = rcalls = 0
        selftest = a.hide or a.recovery_hide
        for cp in points:
            if selftest and failed:
                break  # a self-test needs one loss found, not all of them
            model.advance(cp)
            for v, mode in enumerate(modes):
                sd = os.path.join(work, "state")
                shutil.rmtree(sd, ignore_errors=True)
                before = rnd.getstate()
                torn += model.materialize(sd, cp, mode, rnd)
                if cp in rpoints and mode == rmode:
                    n, calls, rfails = check_recovery_crashes(sd, cp, run, work, rnd, a.recovery_points,
                                                              modes, a.recovery_hide, bool(selftest))
                    rstates += n
                    rcalls += calls
                    states += n
                    failed += len(rfails)
                    for rp, rm, fl in rfails[:2]:
                        if len(first_fail) < 5:
                            first_fail.append((f"{cp}, then in its recovery at {rp}", rm, fl[:6], "(not kept)"))
                fails = check_state(sd, cp, run, work)
                states += 1
                if fails:
                    failed += 1
                    if len(first_fail) < 5:
                        # the state as it was before runnel opened it, for a look
                        keep = os.path.join(work, f"failed-{cp}-{v}-{mode}")
                        again = random.Random()
                        again.setstate(before)
                        model.materialize(keep, cp, mode, again)
                        first_fail.append((cp, mode, fails[:6], keep))
        dt = time.monotonic() - t0
        log(f"{states} crash states ({len(points)} points over {len(ops)} recorded calls, "
            f"{torn} torn writes), {failed} failed, {dt:.1f} s")
        if rpoints:
            log(f"of them {rstates} during {len(rpoints)} recoveries ({rcalls} recorded calls)")
        for cp, mode, fails, keep in first_fail[:2] if selftest else first_fail:
            if selftest:
                log(f"(expected with the syncs hidden) at point {cp} ({mode}):")
            else:
                log(f"FAILED at point {cp} ({mode}), seed {a.seed}, state kept in {keep}:")
            for f in fails:
                log(f"    {f}")
        rc = 0 if failed == 0 else 1
        if selftest:
            what = a.hide or f"recovery {a.recovery_hide}"
            log(f"self-test ({what} hidden): " + ("the loss was found" if failed else "NOTHING FOUND"))
            rc = 0 if failed else 1
    finally:
        if a.keep or (rc and not selftest):
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
