/* encode.c: response and error bodies, content types, blob decoding.
 *
 * Success bodies are jansson trees dumped compactly; reals print with 13
 * significant digits, enough for epoch seconds with milliseconds
 * (1506440188.749) and never in exponent notation for such values
 * (KINESIS_CONTRACT §2.2). Error bodies are written by hand: the message may
 * have been cut at RN_ERROR_MESSAGE_MAX in the middle of a UTF-8 sequence,
 * and this writer replaces any invalid byte with U+FFFD instead of failing.
 * CBOR bodies (§2.4) are written by wire/cbor.c: rn_wire_encode_op follows
 * the operation's output shape; rn_wire_encode, which knows no operation,
 * writes CBOR without one (strings as text, reals as floats). */
#include "util/utf8.h"
#include "wire/wire.h"

#include <string.h>

#include "wire/b64.h"
#include "wire/cbor.h"

const char *rn_wire_content_type(rn_proto_t proto)
{
    return proto == RN_PROTO_CBOR ? "application/x-amz-cbor-1.1" : "application/x-amz-json-1.1";
}

typedef struct dump_ctx {
    rn_buf_t *dst;
    int rc;
} dump_ctx_t;

static int dump_cb(const char *buf, size_t size, void *data)
{
    dump_ctx_t *d = data;
    d->rc = rn_buf_append(d->dst, buf, size);
    return d->rc ? -1 : 0;
}

int rn_wire_encode(rn_proto_t proto, const json_t *obj, rn_buf_t *dst)
{
    if (!obj)
        return 0;
    if (proto == RN_PROTO_CBOR)
        return rn_cbor_from_json(NULL, obj, dst);
    size_t mark = dst->len;
    dump_ctx_t d = {dst, 0};
    if (json_dump_callback(obj, dump_cb, &d, JSON_COMPACT | JSON_REAL_PRECISION(13)) != 0) {
        dst->len = mark;
        if (dst->data)
            dst->data[mark] = 0;
        return d.rc ? d.rc : RN_ENOMEM;
    }
    return 0;
}

int rn_wire_encode_op(rn_op_t op, rn_proto_t proto, const json_t *obj, rn_buf_t *dst)
{
    if (proto != RN_PROTO_CBOR || !obj || op < 0 || op >= RN_OP_COUNT)
        return rn_wire_encode(proto, obj, dst);
    return rn_cbor_from_json(&rn_wire_shapes[rn_wire_op_output[op]], obj, dst);
}

int rn_wire_transcode_json_to_cbor(rn_op_t op, const uint8_t *json, size_t len, rn_buf_t *dst)
{
    if (len == 0)
        return 0;
    json_error_t jerr;
    json_t *v = json_loadb((const char *)json, len, JSON_ALLOW_NUL, &jerr);
    if (!v && json_error_code(&jerr) == json_error_numeric_overflow)
        v = json_loadb((const char *)json, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!v)
        return RN_EINVAL;
    int rc = rn_wire_encode_op(op, RN_PROTO_CBOR, v, dst);
    json_decref(v);
    return rc;
}

int rn_wire_transcode_event_to_cbor(rn_op_t op, const char *event, const uint8_t *json,
                                    size_t len, rn_buf_t *dst)
{
    if (op < 0 || op >= RN_OP_COUNT || !event)
        return RN_EINVAL;
    /* The output's event-stream union member, then the event's shape in it. */
    const rn_wire_shape_t *out = &rn_wire_shapes[rn_wire_op_output[op]];
    const rn_wire_shape_t *ev = NULL;
    for (int i = 0; i < out->n_members && !ev; i++) {
        const rn_wire_shape_t *u = &rn_wire_shapes[out->members[i].shape];
        if (u->kind != RN_SK_STRUCTURE)
            continue;
        for (int k = 0; k < u->n_members; k++)
            if (strcmp(u->members[k].name, event) == 0) {
                ev = &rn_wire_shapes[u->members[k].shape];
                break;
            }
    }
    if (!ev)
        return RN_EINVAL;
    json_error_t jerr;
    json_t *v = json_loadb((const char *)json, len, JSON_ALLOW_NUL, &jerr);
    if (!v)
        return RN_EINVAL;
    int rc = rn_cbor_from_json(ev, v, dst);
    json_decref(v);
    return rc;
}

/* Append s as a JSON string literal (with quotes). */
static int append_json_string(rn_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    int rc = rn_buf_append(b, "\"", 1);
    size_t run = 0; /* start of the current run of bytes copied verbatim */
    for (size_t i = 0; i < n && !rc;) {
        unsigned char c = u[i];
        size_t sl = c >= 0x20 && c != '"' && c != '\\' ? rn_utf8_seq(u + i, n - i) : 0;
        if (sl) {
            i += sl;
            continue;
        }
        rc = rn_buf_append(b, s + run, i - run);
        if (rc)
            break;
        char esc[6];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            rc = rn_buf_append(b, esc, 2);
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            rc = rn_buf_append(b, esc, 6);
        } else {
            rc = rn_buf_append(b, "\xEF\xBF\xBD", 3); /* invalid UTF-8 byte */
        }
        i++;
        run = i;
    }
    if (!rc)
        rc = rn_buf_append(b, s + run, n - run);
    if (!rc)
        rc = rn_buf_append(b, "\"", 1);
    return rc;
}

int rn_wire_encode_error(rn_proto_t proto, const rn_error_t *err, rn_buf_t *dst)
{
    if (proto == RN_PROTO_CBOR)
        return rn_cbor_error(err, dst);
    size_t mark = dst->len;
    int rc = rn_buf_append_str(dst, "{\"__type\":");
    if (!rc)
        rc = append_json_string(dst, rn_aws_error_type(err->code), strlen(rn_aws_error_type(err->code)));
    if (!rc && err->has_message) {
        rc = rn_buf_append_str(dst, ",\"");
        if (!rc)
            rc = rn_buf_append_str(dst, rn_aws_error_message_key(err->code));
        if (!rc)
            rc = rn_buf_append_str(dst, "\":");
        if (!rc)
            rc = append_json_string(dst, err->message, err->message_len);
    }
    if (!rc)
        rc = rn_buf_append(dst, "}", 1);
    if (rc) {
        dst->len = mark;
        if (dst->data)
            dst->data[mark] = 0;
    }
    return rc;
}

int rn_wire_blob(const char *b64, size_t b64_len, rn_buf_t *dst)
{
    if (b64_len % 4)
        return RN_EINVAL;
    size_t pad = b64_len && b64[b64_len - 1] == '=' ? 1 + (b64_len > 1 && b64[b64_len - 2] == '=') : 0;
    size_t room = b64_len / 4 * 3 - pad; /* exact: rn_b64_decode writes no more */
    int rc = rn_buf_reserve(dst, room);
    if (rc)
        return rc;
    size_t n = 0;
    if (rn_b64_decode(b64, b64_len, dst->data + dst->len, &n))
        return RN_EINVAL;
    dst->len += n;
    dst->data[dst->len] = 0;
    return 0;
}
