/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSSL server contexts for the receivers. Both listeners use the same settings as the
 * collector's TLS server config (cert_file, key_file, client_ca_file, min_version).
 */
#include "ag_tls.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    const char *want = arg;
    size_t want_len = strlen(want);
    (void)ssl;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];
        if (i + 1 + n > inlen) {
            break;
        }
        if (n == want_len && memcmp(in + i + 1, want, n) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    /* A client that offers no ALPN, or others only, still gets a handshake: for HTTP/1.1 that
     * is the norm; for gRPC, nghttp2 then fails the session with a clear protocol error. */
    return SSL_TLSEXT_ERR_NOACK;
}

static void last_ssl_error(char *err, size_t errlen, const char *what, const char *file)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "%s %s: %s", what, file ? file : "", e ? buf : "unknown error");
    ERR_clear_error();
}

int ag_tls_server_ctx_new(const struct ag_tls_config *cfg, enum ag_tls_alpn alpn, SSL_CTX **out,
                          char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->cert_file == NULL || cfg->key_file == NULL) {
        snprintf(err, errlen, "tls needs both cert_file and key_file");
        return AG_EINVAL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        return AG_ENOMEM;
    }
    int min = TLS1_2_VERSION;
    if (cfg->min_version != NULL && strcmp(cfg->min_version, "1.3") == 0) {
        min = TLS1_3_VERSION;
    }
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        last_ssl_error(err, errlen, "cannot load the certificate", cfg->cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
        last_ssl_error(err, errlen, "cannot load the private key", cfg->key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        last_ssl_error(err, errlen, "the key does not match the certificate", cfg->key_file);
        goto fail;
    }
    if (cfg->client_ca_file != NULL && cfg->client_ca_file[0] != '\0') {
        if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
            last_ssl_error(err, errlen, "cannot load the client CA", cfg->client_ca_file);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, alpn == AG_TLS_ALPN_H2 ? "h2" : "http/1.1");
    *out = ctx;
    return 0;
fail:
    SSL_CTX_free(ctx);
    return AG_EINVAL;
}
