#!/usr/bin/env python3
"""gen_shapes.py: generate src/wire/shapes_gen.c from the AWS Kinesis models.

Inputs
  * botocore's service-2.json.gz (API 2013-12-02): shapes with types, member
    order, required lists, min/max, patterns and enums. shapes_gen.c is made
    from botocore 1.44.8, the first with the Queue operations (the pinned one
    of tests/clients/kcl/moto-requirements.txt: run the generator with that
    venv's python, ~/.cache/runnel/moto-*/bin/python). Where botocore is the
    newer of the two models (the Queue operations, QueueCount), its members
    are taken as they are;
  * the newer JS SDK model in node_modules/@aws-sdk/client-kinesis: the
    schemas in dist-cjs/index.js (members, member types, required count) and
    the declarations in dist-types/models/{models_0,enums}.d.ts (member order
    and enum values). It adds the operations and members botocore lacks
    (KINESIS_CONTRACT §1: UpdateStreamRecordDistributionStrategy, the channel
    operations, DryRun, RecordDistributionStrategy on CreateStream, and
    PartitionKey no longer required). The JS model carries no length, range
    or pattern traits, so those always come from botocore.

Merge rule, per structure reachable from an operation's input or output
(output shapes come after every input shape, so adding them moved no input
index; they guide the JSON -> CBOR transcoding of answers, wire/cbor.c):
  * the member list, member order and required set come from the JS model
    when it has the structure (it is newer), else from botocore;
  * a member botocore knows keeps botocore's shape (with its traits);
  * a member only the JS model knows gets a shape built from its JS type;
    a few member names (BORROW below) reuse botocore's shape of the same
    name so e.g. a channel's StreamARN is checked like every other StreamARN.

Output: src/wire/shapes_gen.c (committed; the build does not run Python).
Usage:  python3 tools/gen_shapes.py [--check]   (run from anywhere)
        --check exits 1 when the committed file differs from what would be
        generated.
"""
import gzip
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "wire", "shapes_gen.c")
OPS_H = os.path.join(ROOT, "src", "core", "ops.h")
JS_PKG = os.path.join(ROOT, "node_modules", "@aws-sdk", "client-kinesis")

# Members only the JS model has, whose name matches a botocore shape used
# for the same purpose everywhere in botocore: reuse that shape's traits.
BORROW = {
    "StreamARN": "StreamARN",
    "StreamName": "StreamName",
    "StreamId": "StreamId",
    "NextToken": "NextToken",
    "Tags": "TagMap",
}

KINDS = ["structure", "list", "map", "string", "integer", "long", "boolean",
         "blob", "timestamp", "double"]


def die(msg):
    sys.stderr.write("gen_shapes: " + msg + "\n")
    sys.exit(2)


# ---------------------------------------------------------------- inputs --
def load_botocore():
    import botocore  # noqa: imported for its data directory
    path = os.path.join(os.path.dirname(botocore.__file__), "data", "kinesis",
                        "2013-12-02", "service-2.json.gz")
    with gzip.open(path) as f:
        model = json.load(f)
    version = getattr(botocore, "__version__", "?")
    return model, "botocore %s" % version


def load_ops():
    text = open(OPS_H).read()
    body = text[text.index("#define RN_OPERATIONS(X)"):]
    body = body[:body.index("typedef")]
    ops = re.findall(r"X\((\w+),\s*'[CD]'[,)]", body)
    if len(ops) != 57:
        die("expected 57 operations in ops.h, found %d" % len(ops))
    return ops


def load_js():
    """Returns (structs, lists, dts, enums, version)."""
    idx = open(os.path.join(JS_PKG, "dist-cjs", "index.js")).read()
    consts = dict(re.findall(r'^const (_\w+) = "([^"]*)";', idx, re.M))
    structs, lists = {}, {}
    for m in re.finditer(r"^var ([\w$]+) = \[(\d+), n0, (_\w+),(.*?)\n\];", idx, re.M | re.S):
        var, kind, cname, rest = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        name = consts.get(cname)
        if name is None:
            die("unknown constant %s in index.js" % cname)
        if kind == 3:  # structure: traits, [names], [schemas], requiredCount?
            mm = re.match(r"\s*(?:0|\{.*?\}),\s*\[(.*?)\],\s*\[(.*)\](?:,\s*(\d+))?\s*$", rest, re.S)
            if not mm:
                die("cannot parse structure schema %s" % var)
            names = [consts[n.strip()] for n in mm.group(1).split(",") if n.strip()]
            refs = split_refs(mm.group(2))
            if len(names) != len(refs):
                die("member/schema count mismatch in %s" % var)
            structs[name] = {"members": names, "refs": refs,
                             "required": int(mm.group(3) or 0)}
        elif kind == 1:  # list: traits, member schema
            mm = re.match(r"\s*(?:0|\{.*?\}),\s*(.*?)\s*$", rest, re.S)
            lists[name] = mm.group(1)
    dts = {}
    models = open(os.path.join(JS_PKG, "dist-types", "models", "models_0.d.ts")).read()
    for m in re.finditer(r"^export interface (\w+) \{\n(.*?)^\}", models, re.M | re.S):
        mem = re.findall(r"^\s+(\w+)(\??): (.*?) \| undefined;$", m.group(2), re.M)
        dts[m.group(1)] = [(n, opt != "?", t) for n, opt, t in mem]
    enums = {}
    etext = open(os.path.join(JS_PKG, "dist-types", "models", "enums.d.ts")).read()
    for m in re.finditer(r"^export declare const (\w+): \{\n(.*?)^\};", etext, re.M | re.S):
        enums[m.group(1)] = re.findall(r'readonly \w+: "([^"]*)";', m.group(2))
    version = json.load(open(os.path.join(JS_PKG, "package.json")))["version"]
    return structs, lists, dts, enums, "@aws-sdk/client-kinesis %s" % version


def split_refs(text):
    """Split a JS schema array body at top-level commas."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


# ---------------------------------------------------------------- merge ---
class Gen:
    def __init__(self):
        self.bc, self.bc_version = load_botocore()
        self.bshapes = self.bc["shapes"]
        self.jstructs, self.jlists, self.dts, self.enums, self.js_version = load_js()
        self.shapes = {}   # name -> dict (our merged shapes)
        self.order = []    # names in emission order
        self.notes = []

    def add(self, name, shape):
        if name in self.shapes:
            if self.shapes[name] != shape:
                die("conflicting definitions for shape %s" % name)
            return name
        self.shapes[name] = shape
        self.order.append(name)
        return name

    # a botocore shape (recursively), with structures merged with JS
    def from_botocore(self, name):
        if name in self.shapes:
            return name
        s = self.bshapes[name]
        t = s["type"]
        if t == "structure":
            return self.structure(name)
        sh = {"kind": t}
        for k in ("min", "max"):
            if k in s:
                sh[k] = s[k]
        if "pattern" in s:
            sh["pattern"] = unanchor(s["pattern"])
        if "enum" in s:
            sh["enum"] = list(s["enum"])
        if t == "list":
            sh["member"] = self.from_botocore(s["member"]["shape"])
        elif t == "map":
            sh["key"] = self.from_botocore(s["key"]["shape"])
            sh["value"] = self.from_botocore(s["value"]["shape"])
        if t not in KINDS:
            die("unsupported shape type %s (%s)" % (t, name))
        return self.add(name, sh)

    def structure(self, name):
        if name in self.shapes:
            return name
        self.shapes[name] = None  # placeholder against recursion
        b = self.bshapes.get(name)
        j = self.jstructs.get(name)
        members = []
        if j is not None:
            d = self.dts.get(name)
            if d is None:  # the JS SDK renames shapes that clash with TS globals
                d = self.dts.get("_" + name)
            if d is None:
                die("no declaration for %s in models_0.d.ts" % name)
            if sorted(n for n, _, _ in d) != sorted(j["members"]):
                die("index.js and models_0.d.ts disagree on members of %s" % name)
            req = set(j["members"][:j["required"]])
            if req != set(n for n, r, _ in d if r):
                die("index.js and models_0.d.ts disagree on required members of %s" % name)
            refs = dict(zip(j["members"], j["refs"]))
            bmem = b["members"] if b else {}
            breq = set(b.get("required", [])) if b else set()
            for n, r, tstype in d:
                if n in bmem:
                    sh = self.from_botocore(bmem[n]["shape"])
                    self.check_compatible(name, n, sh, refs[n])
                else:
                    sh = self.from_js(n, refs[n], tstype)
                    if b:
                        self.notes.append("%s.%s: from the JS model only" % (name, n))
                members.append((n, sh, n in req))
            if b:
                for n in bmem:
                    if n not in refs:  # botocore is newer than the JS model here
                        members.append((n, self.from_botocore(bmem[n]["shape"]), n in breq))
                        self.notes.append("%s.%s: from botocore only" % (name, n))
                for n in sorted(breq ^ req):
                    self.notes.append("%s.%s: required %s in botocore, %s in the JS model"
                                      % (name, n, n in breq, n in req))
            else:
                self.notes.append("%s: from the JS model only" % name)
        elif b is not None:
            req = set(b.get("required", []))
            for n, m in b["members"].items():
                members.append((n, self.from_botocore(m["shape"]), n in req))
        else:
            die("shape %s in neither model" % name)
        del self.shapes[name]
        self.order = [x for x in self.order if x != name]
        return self.add(name, {"kind": "structure", "members": members})

    def check_compatible(self, sname, mname, shape, ref):
        kind = self.shapes[shape]["kind"]
        want = self.js_kind(ref)
        if want is not None and want != kind and not (want == "integer" and kind == "long"):
            die("%s.%s: botocore says %s, JS says %s" % (sname, mname, kind, want))

    @staticmethod
    def js_kind(ref):
        ref = ref.strip()
        if ref.startswith("[") and ref.endswith("]"):
            ref = split_refs(ref[1:-1])[0]
        if ref.startswith("() =>"):
            target = ref[5:].strip()
            return "structure" if target.endswith("$") else "list"
        if ref.startswith("64 |"):
            return "list"
        if ref.startswith("128 |"):
            return "map"
        return {"0": "string", "1": "integer", "2": "boolean", "4": "timestamp",
                "5": "timestamp", "6": "timestamp", "7": "timestamp",
                "21": "blob", "17": "integer", "19": "double"}.get(ref)

    def primitive(self, code, tstype, mname=None):
        """A shape for a JS primitive code, possibly an enum or a borrowed one."""
        if mname in BORROW and BORROW[mname] in self.bshapes:
            return self.from_botocore(BORROW[mname])
        if code == "0":
            if tstype in self.enums:
                return self.add(tstype, {"kind": "string", "enum": self.enums[tstype]})
            return self.add("__String", {"kind": "string"})
        kind = self.js_kind(code)
        if kind is None:
            die("unknown JS schema code %s" % code)
        return self.add("__" + kind.capitalize(), {"kind": kind})

    def from_js(self, mname, ref, tstype):
        ref = ref.strip()
        if ref.startswith("[") and ref.endswith("]"):
            ref = split_refs(ref[1:-1])[0]
        elem_ts = tstype[:-2] if tstype.endswith("[]") else None
        if ref.startswith("() =>"):
            target = ref[5:].strip()
            if target.endswith("$"):
                return self.structure(target[:-1].lstrip("_") if target[:-1] not in self.jstructs
                                      else target[:-1])
            if target in self.bshapes:
                return self.from_botocore(target)
            lref = self.jlists.get(target)
            if lref is None:
                die("unknown JS list %s" % target)
            member = self.from_js(None, lref, elem_ts or "")
            return self.add(target, {"kind": "list", "member": member})
        if ref.startswith("64 |"):
            member = self.primitive(ref[4:].strip(), elem_ts or "")
            return self.add("__ListOf" + member.strip("_"), {"kind": "list", "member": member})
        if ref.startswith("128 |"):
            if mname in BORROW:
                return self.from_botocore(BORROW[mname])
            value = self.primitive(ref[5:].strip(), "")
            key = self.add("__String", {"kind": "string"})
            return self.add("__MapOf" + value.strip("_"), {"kind": "map", "key": key, "value": value})
        return self.primitive(ref, tstype, mname)


# ---------------------------------------------------------------- patterns -
def unanchor(p):
    """Every pattern matches the whole value, so the explicit anchors newer
    models put around a whole pattern ("^(0|([1-9]\\d{0,38}))$" since botocore
    1.44) say nothing more. They are dropped, which also keeps the pattern text
    of ValidationException messages the one the service has been answering."""
    m = re.fullmatch(r"\^\((.*)\)\$", p) or re.fullmatch(r"\^([^()|]*)\$", p)
    return m.group(1) if m else p


def classify_pattern(p):
    """Returns (kind, data): CHARSET (bitmap), DECIMAL (max digits), REGEX (ERE)."""
    m = re.fullmatch(r"\[([^\]\\^]+)\]\+", p)
    if m:
        bits, body, i = [0] * 256, m.group(1), 0
        while i < len(body):
            if i + 2 < len(body) and body[i + 1] == "-":
                for c in range(ord(body[i]), ord(body[i + 2]) + 1):
                    bits[c] = 1
                i += 3
            else:
                bits[ord(body[i])] = 1
                i += 1
        return "CHARSET", bits
    m = re.fullmatch(r"0\|\(\[1-9\]\\d\{0,(\d+)\}\)", p)
    if m:
        return "DECIMAL", int(m.group(1)) + 1
    return "REGEX", java_to_ere(p)


def java_to_ere(p):
    """Translate the model's Java regexes into an anchored POSIX ERE with the
    same whole-value meaning (bytes in the C locale). Only the constructs the
    Kinesis model uses are supported; anything else stops the generator."""
    if p.startswith("^"):
        p = p[1:]
    out, i, inbr = "", 0, False
    hyphen = False  # an escaped '-' in the open bracket: literal, so put last (POSIX)
    while i < len(p):
        c = p[i]
        if c == "\\":
            n = p[i + 1]
            i += 2
            if n == "d":
                out += "0-9" if inbr else "[0-9]"
            elif n == "S" and not inbr:
                out += "[^[:space:]]"
            elif n == "s":
                out += "[:space:]" if inbr else "[[:space:]]"
            elif n == "w":
                out += "A-Za-z0-9_" if inbr else "[A-Za-z0-9_]"
            elif n == "-" and inbr:
                hyphen = True
            elif n in "/-_:":
                out += n
            elif n in ".()[]{}*+?|^$\\":
                out += n if inbr else "\\" + n
            else:
                die("unsupported escape \\%s in pattern %s" % (n, p))
            continue
        if inbr:
            if c == "]":
                inbr = False
                if hyphen:
                    out += "-"
                    hyphen = False
            out += c
        elif c == "[":
            inbr = True
            out += c
            if i + 1 < len(p) and p[i + 1] == "^":
                out += "^"
                i += 1
        elif c == ".":
            out += "[^\n\r]"  # Java's '.' stops at line terminators
        elif c == "$":
            die("unsupported '$' in pattern %s" % p)
        else:
            out += c
        i += 1
    return "^(" + out + ")$"


# ---------------------------------------------------------------- emit ----
def c_str(s):
    out = '"'
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out += "\\" + ch
        elif ch == "\n":
            out += "\\n"
        elif ch == "\r":
            out += "\\r"
        elif o < 0x20 or o > 0x7e:
            die("non-ASCII character in generated string %r" % s)
        else:
            out += ch
    return out + '"'


def lower_first(s):
    return s[:1].lower() + s[1:]


# AWS prints an enum's value set in its own (Java set) order, not the model's.
# Where that order has been observed, it is used in messages (KINESIS_CONTRACT §2.3).
ENUM_MESSAGE_ORDER = {
    "ShardIteratorType": ["AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER",
                          "TRIM_HORIZON"],
}


def enum_message(name, values):
    order = ENUM_MESSAGE_ORDER.get(name)
    if order and sorted(order) == sorted(values):
        values = order
    return "[" + ", ".join(values) + "]"


def rule_texts(sh, patterns_text, name=None):
    """The rules of a scalar shape, in the order AWS lists them inside
    'Member must satisfy constraint: [...]' (max before min, as observed for
    map keys: KINESIS_CONTRACT §2.3)."""
    r = []
    kind = sh["kind"]
    if kind in ("string", "blob", "list", "map"):
        if "max" in sh:
            r.append("Member must have length less than or equal to %d" % sh["max"])
        if "min" in sh:
            r.append("Member must have length greater than or equal to %d" % sh["min"])
    elif kind in ("integer", "long", "double"):
        if "max" in sh:
            r.append("Member must have value less than or equal to %d" % sh["max"])
        if "min" in sh:
            r.append("Member must have value greater than or equal to %d" % sh["min"])
    if "pattern" in sh:
        r.append("Member must satisfy regular expression pattern: " + sh["pattern"])
    if "enum" in sh:
        r.append("Member must satisfy enum value set: " + enum_message(name, sh["enum"]))
    return ", ".join(r)


def emit(g, ops):
    op_shapes = []
    for op in ops:
        name = op + "Input"
        if name in g.bshapes or name in g.jstructs:
            op_shapes.append(g.structure(name))
        else:
            g.notes.append("%s: no input shape in either model; empty structure" % op)
            op_shapes.append(g.add("__Empty", {"kind": "structure", "members": []}))
    # output shapes after every input shape, so input indices do not move;
    # they drive the JSON -> CBOR transcoding of answers (wire/cbor.c)
    out_shapes = []
    for op in ops:
        name = op + "Output"
        if name in g.bshapes or name in g.jstructs:
            out_shapes.append(g.structure(name))
        else:
            out_shapes.append(g.add("__Empty", {"kind": "structure", "members": []}))
    # sanity checks on the additions the contract lists (§1)
    def member(sname, mname):
        for n, s, r in g.shapes[sname]["members"]:
            if n == mname:
                return s, r
        die("expected member %s.%s is missing (JS model changed?)" % (sname, mname))
    for s in ("GetRecordsInput", "GetShardIteratorInput", "PutRecordInput", "PutRecordsInput",
              "SubscribeToShardInput"):
        member(s, "DryRun")
    member("CreateStreamInput", "RecordDistributionStrategy")
    if member("PutRecordInput", "PartitionKey")[1] or member("PutRecordsRequestEntry", "PartitionKey")[1]:
        die("PartitionKey should not be required in the JS model")

    index = {n: i for i, n in enumerate(g.order)}
    pats = []
    for n in g.order:
        p = g.shapes[n].get("pattern")
        if p is not None and p not in pats:
            pats.append(p)

    L = []
    w = L.append
    w("/* shapes_gen.c: GENERATED by tools/gen_shapes.py -- do not edit.")
    w(" * Input and output shapes of every operation in core/ops.h, from %s" % g.bc_version)
    w(" * and %s (see docs/wire.md). Regenerate: python3 tools/gen_shapes.py */" % g.js_version)
    w('#include "wire/shapes_int.h"')
    w("")
    w("/* ---- patterns ---- */")
    w("const rn_wire_pattern_t rn_wire_patterns[] = {")
    nregex = 0
    for i, p in enumerate(pats):
        kind, data = classify_pattern(p)
        w("    [%d] = {" % i)
        w("        .model = %s," % c_str(p))
        if kind == "CHARSET":
            words = []
            for k in range(4):
                v = 0
                for b in range(64):
                    if data[k * 64 + b]:
                        v |= 1 << b
                words.append("0x%016xULL" % v)
            w("        .kind = RN_PAT_CHARSET,")
            w("        .charset = {%s}," % ", ".join(words))
        elif kind == "DECIMAL":
            w("        .kind = RN_PAT_DECIMAL,")
            w("        .max_digits = %d," % data)
        else:
            w("        .kind = RN_PAT_REGEX,")
            w("        .ere = %s," % c_str(data))
            w("        .regex_slot = %d," % nregex)
            nregex += 1
        w("    },")
    w("};")
    w("const int rn_wire_pattern_count = %d;" % len(pats))
    w("const int rn_wire_regex_count = %d;" % nregex)
    w("")
    w("/* ---- members, per structure, in model order ---- */")
    for n in g.order:
        sh = g.shapes[n]
        if sh["kind"] != "structure" or not sh["members"]:
            continue
        w("static const rn_wire_member_t members_%s[] = {" % n.strip("_"))
        for mn, ms, req in sh["members"]:
            w("    {%s, %s, %d, %d, %d, %d}, /* %s */" % (
                c_str(mn), c_str(lower_first(mn)), len(mn), index[ms], 1 if req else 0,
                len(lower_first(mn)), ms))
        w("};")
    for n in g.order:
        sh = g.shapes[n]
        if "enum" in sh:
            w("static const char *const enum_%s[] = {%s};" % (
                n.strip("_"), ", ".join(c_str(e) for e in sh["enum"])))
    w("")
    w("/* ---- shapes ---- */")
    w("const rn_wire_shape_t rn_wire_shapes[] = {")
    for n in g.order:
        sh = g.shapes[n]
        k = sh["kind"]
        w("    [%d] = { /* %s */" % (index[n], n))
        w("        .name = %s," % c_str(n))
        w("        .kind = RN_SK_%s," % k.upper())
        if "min" in sh:
            w("        .has_min = 1, .min = %dLL," % sh["min"])
        if "max" in sh:
            w("        .has_max = 1, .max = %dLL," % sh["max"])
        if "pattern" in sh:
            w("        .pattern = &rn_wire_patterns[%d]," % pats.index(sh["pattern"]))
        if "enum" in sh:
            w("        .enums = enum_%s, .n_enums = %d," % (n.strip("_"), len(sh["enum"])))
            w("        .enum_text = %s," % c_str(enum_message(n, sh["enum"])))
        if k == "structure":
            if sh["members"]:
                w("        .members = members_%s, .n_members = %d," % (n.strip("_"), len(sh["members"])))
        elif k == "list":
            w("        .member = %d, /* %s */" % (index[sh["member"]], sh["member"]))
        elif k == "map":
            w("        .key = %d, .value = %d, /* %s -> %s */" % (
                index[sh["key"]], index[sh["value"]], sh["key"], sh["value"]))
        rt = rule_texts(sh, pats, n)
        if rt and k not in ("structure",):
            w("        .rules_text = %s," % c_str(rt))
        w("    },")
    w("};")
    w("const int rn_wire_shape_count = %d;" % len(g.order))
    w("")
    w("/* ---- operation -> input shape, indexed by rn_op_t ---- */")
    w("const uint16_t rn_wire_op_input[RN_OP_COUNT] = {")
    for op, s in zip(ops, op_shapes):
        w("    [RN_OP_%s] = %d, /* %s */" % (op, index[s], s))
    w("};")
    w("")
    w("/* ---- operation -> output shape, indexed by rn_op_t ---- */")
    w("const uint16_t rn_wire_op_output[RN_OP_COUNT] = {")
    for op, s in zip(ops, out_shapes):
        w("    [RN_OP_%s] = %d, /* %s */" % (op, index[s], s))
    w("};")
    w("")
    return "\n".join(L)


def main():
    g = Gen()
    ops = load_ops()
    text = emit(g, ops)
    for n in g.notes:
        sys.stderr.write("note: " + n + "\n")
    if "--check" in sys.argv[1:]:
        cur = open(OUT).read() if os.path.exists(OUT) else ""
        if cur != text:
            sys.stderr.write("gen_shapes: %s is stale\n" % OUT)
            return 1
        return 0
    with open(OUT, "w") as f:
        f.write(text)
    sys.stderr.write("wrote %s: %d shapes, %d operations\n" % (OUT, len(g.order), len(ops)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
