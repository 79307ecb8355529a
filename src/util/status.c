/* status.c: descriptions of the internal status codes (status.h). */
#include "util/status.h"

const char *rn_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define X(name, val, text) \
    case name:             \
        return text;
        RN_STATUS_CODES(X)
#undef X
    }
    return "unknown error";
}
