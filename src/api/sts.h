/* sts.h: STS GetCallerIdentity, as far as Kinesis clients need it.
 *
 * The KPL (0.15+) asks STS who it is before its first put, to build the
 * stream's ARN (arn:aws:kinesis:<region>:<account>:stream/<name>); its
 * StsEndpoint/StsPort point at runnel's port. The request is AWS's query
 * protocol: POST, Content-Type application/x-www-form-urlencoded, no
 * X-Amz-Target, body "Action=GetCallerIdentity&Version=2011-06-15".
 * The answer names the caller's account (the credential scope's, as for
 * Kinesis calls: api/ident.h) with the account's root ARN, as AWS answers
 * root credentials; in verified mode, the verified identity's account and
 * ARN (a request signed for service "sts"; STS needs no permission for
 * GetCallerIdentity). Any other action is STS's InvalidAction.
 *
 * Pure functions: no allocation beyond the answer, no global state. */
#ifndef RN_API_STS_H
#define RN_API_STS_H

#include <stddef.h>
#include <stdint.h>

/* 1 if the media type of Content-Type ct[0..n) is
 * application/x-www-form-urlencoded (parameters and case ignored). */
int rn_sts_is_form(const char *ct, size_t n);

/* The decoded value of the form parameter name in body[0..len) into out
 * (NUL-terminated). Returns its length, or -1 if absent, badly escaped or
 * longer than cap - 1. */
int rn_sts_form_value(const uint8_t *body, size_t len, const char *name, char *out, size_t cap);

/* The XML answer to a form request body from account with arn and user_id
 * (NULL: the account's root, arn:aws:iam::<account>:root, user id the
 * account), request_id for ResponseMetadata: a malloc'd NUL-terminated
 * document in *xml (NULL on allocation failure) and the HTTP status (200,
 * or 400 for an unknown or missing action). */
int rn_sts_answer(const uint8_t *body, size_t len, const char *account, const char *arn, const char *user_id,
                  const char *request_id, char **xml);

/* An STS ErrorResponse document (malloc'd, NULL on allocation failure). */
char *rn_sts_error_xml(const char *code, const char *message, const char *request_id);

#endif
