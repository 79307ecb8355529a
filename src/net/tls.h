/* tls.h: development certificates for runnel's TLS (OpenSSL).
 *
 * The server side of TLS lives in the connection layer (net_int.h,
 * tls.c) and is configured through rn_http_config_t. This header only
 * offers what the command line needs: a self-signed development
 * certificate (EC P-256, SAN localhost, 127.0.0.1, ::1), as PEM text or
 * written to files.
 */
#ifndef RN_TLS_H
#define RN_TLS_H

/* Make a development certificate valid for `days` days (1..36500) from an
 * hour ago. *cert_pem and *key_pem get malloc'd NUL-terminated PEM text
 * (the key is unencrypted PKCS#8). Returns 0 or a negative RN_E* code. */
int rn_tls_dev_cert_pem(int days, char **cert_pem, char **key_pem);

/* The same, written to cert_path (mode 0644) and key_path (mode 0600),
 * replacing them. Returns 0 or a negative RN_E* code, *errmsg a reason. */
int rn_tls_dev_cert_write(int days, const char *cert_path, const char *key_path,
                          const char **errmsg);

#endif
