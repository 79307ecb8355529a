/* status.h: runnel's internal status codes (negative ints, RN_E*; 0 is
 * success), returned by functions in every module. They live at the ground
 * (util) so that every layer can use them without reaching up; the
 * AWS-facing error table that maps situations to AWS's wording stays in
 * core/errors.h, which includes this header. */
#ifndef RN_STATUS_H
#define RN_STATUS_H

#define RN_STATUS_CODES(X)                                   \
    X(RN_ENOMEM, -1, "out of memory")                        \
    X(RN_ETOOBIG, -2, "size limit exceeded")                 \
    X(RN_EINVAL, -3, "invalid argument")                     \
    X(RN_EIO, -4, "input/output error")                      \
    X(RN_ENOSPC, -5, "no space left on device")              \
    X(RN_ENOENT, -6, "not found")                            \
    X(RN_ECORRUPT, -7, "corrupt data")                       \
    X(RN_EEXIST, -8, "already exists")                       \
    X(RN_EBUSY, -9, "resource busy")                         \
    X(RN_EAGAIN, -10, "try again")                           \
    X(RN_EPROTO, -11, "protocol error")                      \
    X(RN_ECLOSED, -12, "closed")                             \
    X(RN_EMFILE, -13, "too many open files")                 \
    X(RN_ECONFLICT, -14, "changed by another writer")

enum {
#define X(name, val, text) name = val,
    RN_STATUS_CODES(X)
#undef X
};

/* A static description of an internal status code. */
const char *rn_strerror(int code);

#endif
