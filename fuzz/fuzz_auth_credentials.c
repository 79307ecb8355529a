/* fuzz_auth_credentials.c: libFuzzer target for the credentials store
 * loader (auth/credentials.c, rn_creds_store_load_buffer). A load either
 * fails with a message and no store, or yields a store in which every
 * identity is found by its own access key and has a policy array. Corpus:
 * fuzz/corpus/fuzz_auth_credentials/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/credentials.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rn_creds_store_t *s = (rn_creds_store_t *)1;
    rn_creds_error_t e;
    int rc = rn_creds_store_load_buffer((const char *)data, size, "fuzz", &s, &e);
    if (rc != 0) {
        if (s != NULL || !e.text[0] || !memchr(e.text, 0, sizeof e.text))
            abort();
        return 0;
    }
    for (size_t i = 0; i < rn_creds_store_count(s); i++) {
        const rn_creds_identity_t *id = rn_creds_store_at(s, i);
        if (rn_creds_store_find(s, id->access_key_id, id->access_key_len) != id)
            abort();
        if (!json_is_array(rn_creds_identity_policies(id)) || strlen(id->account_id) != 12 ||
            strncmp(id->arn, "arn:", 4) != 0)
            abort();
    }
    rn_creds_store_destroy(s);
    return 0;
}
