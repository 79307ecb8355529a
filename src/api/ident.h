/* ident.h: who a request says it is: the account and region of the SigV4
 * credential scope, from the Authorization header or a presigned query.
 *
 * Only the shape is checked here (issue 10 verifies signatures): the
 * credential has five '/'-separated parts, and its region is AWS-shaped,
 * [a-z]{2}(-[a-z]+)+-[0-9]+ and at most RN_REGION_MAX characters, or is the
 * server's --region default. A region that is neither is refused as AWS
 * refuses it, so no request can make runnel hold state under an invented
 * region (docs/limits.md, "Identity, accounts and regions"). Pure functions:
 * no allocation, no global state. */
#ifndef RN_API_IDENT_H
#define RN_API_IDENT_H

#include <stddef.h>

#include "core/errors.h"

#define RN_REGION_MAX 32  /* longest region accepted (AWS's longest today: 15) */
#define RN_ACCOUNT_MAX 15 /* an account id's characters (12 digits in practice) */

/* 1 if region[0..n) is AWS-shaped or equals default_region (may be NULL). */
int rn_region_valid(const char *region, size_t n, const char *default_region);

/* Write region[0..n) printable-escaped into out (cap > 0, NUL-terminated,
 * truncated to fit): bytes 0x20..0x7e as they are, every other byte as
 * \u00XX (upper-case hex), so a message never carries raw control or
 * non-UTF-8 bytes. Returns the length written. */
size_t rn_escape_printable(const char *p, size_t n, char *out, size_t cap);

/* What a credential scope names. */
typedef struct rn_ident {
    char account[RN_ACCOUNT_MAX + 1]; /* left as the caller set it unless the key is 12 digits */
    char region[RN_REGION_MAX + 1];
} rn_ident_t;

/* Parse a Credential value "<key>/<yyyymmdd>/<region>/<service>/aws4_request".
 * The account becomes the key when that is exactly 12 digits (else *id's
 * account is kept); the region must pass rn_region_valid. Returns 0, or -1
 * with err set: IncompleteSignatureException when there are not five parts,
 * InvalidSignatureException "Credential should be scoped to a valid region,
 * not '<region>'. " otherwise. */
int rn_ident_credential(const char *cred, size_t len, const char *default_region, rn_ident_t *id,
                        rn_error_t *err);

/* The presigned form: the query string of path (what follows the first '?').
 * Returns 0 when the query has no X-Amz-Algorithm parameter (not presigned),
 * 1 when it is presigned and complete (*id filled from X-Amz-Credential,
 * percent-decoded), or -1 with err set: IncompleteSignatureException naming
 * each missing X-Amz-Credential / X-Amz-Signature / X-Amz-SignedHeaders /
 * X-Amz-Date parameter, or what rn_ident_credential reports. Parameters are
 * matched by exact name; a name merely containing "X-Amz-Algorithm=" (in the
 * path, or inside another parameter's value) does not make a request
 * presigned. */
int rn_ident_presigned(const char *path, const char *default_region, rn_ident_t *id, rn_error_t *err);

#endif
