#ifndef AG_TLS_H
#define AG_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "ag_config.h"
#include "ag_err.h"

/*
 * Server TLS contexts for the OTLP listeners: certificate and key, optional client CA (mTLS:
 * clients must then present a certificate it signed), minimum TLS 1.2, and ALPN.
 */

enum ag_tls_alpn {
    AG_TLS_ALPN_H2 = 0,     /* gRPC: "h2" only */
    AG_TLS_ALPN_HTTP11 = 1, /* OTLP/HTTP through evhttp: "http/1.1" */
};

/*
 * Creates a server SSL_CTX from |cfg|. On failure writes the reason (with the file name) to |err|.
 * Returns 0 and the context in |*out| (free with SSL_CTX_free()), or AG_EINVAL (bad files or
 * settings), AG_ENOMEM.
 */
AG_NODISCARD int ag_tls_server_ctx_new(const struct ag_tls_config *cfg, enum ag_tls_alpn alpn,
                                       SSL_CTX **out, char *err, size_t errlen);

#endif /* AG_TLS_H */
