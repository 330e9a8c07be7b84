/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `slo report --from agent=URL`: GET <URL>/v1/slo from otterd's admin listener with libcurl's
 * easy interface (one synchronous request: the command has nothing else to do meanwhile).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_mem.h"
#include "slo_report_cli.h"

#define AGENT_BODY_CAP (256u * 1024u * 1024u)
#define V1_SLO "/v1/slo"

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct ag_buf *b = arg;
    return ag_buf_add(b, data, size * n) == 0 ? size * n : 0;
}

int slo_agent_url(const char *base, char *out, size_t cap)
{
    size_t n = strlen(base);
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
        return AG_EINVAL;
    }
    size_t host = strncmp(base, "http://", 7) == 0 ? 7 : 8;
    if (n <= host || strchr(base, '?') != NULL || strchr(base, '#') != NULL) {
        return AG_EINVAL;
    }
    int w;
    if (n >= strlen(V1_SLO) && strcmp(base + n - strlen(V1_SLO), V1_SLO) == 0) {
        w = snprintf(out, cap, "%s", base);
    } else {
        while (n > host && base[n - 1] == '/') {
            n--;
        }
        if (strchr(base + host, '/') != NULL && strchr(base + host, '/') < base + n) {
            return AG_EINVAL; /* a path other than /v1/slo */
        }
        w = snprintf(out, cap, "%.*s%s", (int)n, base, V1_SLO);
    }
    return w < 0 || (size_t)w >= cap ? AG_ETOOBIG : 0;
}

/* The "error" text of a JSON error body, or NULL. */
static char *error_text(const struct ag_buf *body)
{
    json_t *doc = json_loadb(ag_buf_str(body), body->len, 0, NULL);
    const char *e = json_string_value(json_object_get(doc, "error"));
    char *copy = e != NULL ? ag_strdup(e) : NULL;
    json_decref(doc);
    return copy;
}

int slo_agent_fetch(const char *base, long timeout_s, struct ag_buf *body, FILE *err)
{
    char url[4096];
    if (slo_agent_url(base, url, sizeof(url)) != 0) {
        fprintf(err, "slo report: --from agent=%s: expected http://HOST:PORT (otterd's admin "
                     "listener, service.telemetry.metrics.address) or a URL ending in /v1/slo\n",
                base);
        return 2;
    }
    CURL *c = curl_easy_init();
    if (c == NULL) {
        fputs("slo report: cannot start libcurl\n", err);
        return 2;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    long status = 0;
    ag_buf_init(body, AGENT_BODY_CAP);
    CURLcode rc = CURLE_OK;
    if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, body) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
        fputs("slo report: cannot set up the request\n", err);
        curl_easy_cleanup(c);
        return 2;
    }
    rc = curl_easy_perform(c);
    int out = 2;
    if (rc == CURLE_WRITE_ERROR) {
        fprintf(err, "slo report: %s: the answer is larger than %u MiB\n", url,
                AGENT_BODY_CAP >> 20);
    } else if (rc == CURLE_COULDNT_CONNECT) {
        fprintf(err, "slo report: cannot connect to %s: %s (is otterd running with an slo "
                     "exporter, its admin listener on this address?)\n",
                url, cerr[0] ? cerr : curl_easy_strerror(rc));
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        fprintf(err, "slo report: %s: no answer within %ld s\n", url, timeout_s);
    } else if (rc != CURLE_OK) {
        fprintf(err, "slo report: %s: %s\n", url, cerr[0] ? cerr : curl_easy_strerror(rc));
    } else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
               status != 200) {
        char *e = error_text(body);
        if (e != NULL) {
            for (char *p = e; *p != '\0'; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                    *p = '?';
                }
            }
            fprintf(err, "slo report: %s: HTTP %ld: %.300s\n", url, status, e);
        } else {
            /* The first 200 bytes of the body, on one line, without control characters. */
            char head[201];
            size_t n = body->len > 200 ? 200 : body->len;
            memcpy(head, ag_buf_str(body), n);
            head[n] = '\0';
            for (size_t i = 0; i < n; i++) {
                if ((unsigned char)head[i] < 0x20 || head[i] == 0x7f) {
                    head[i] = head[i] == '\n' || head[i] == '\r' || head[i] == '\t' ? ' ' : '?';
                }
            }
            fprintf(err, "slo report: %s: HTTP %ld: %s\n", url, status, head);
        }
        ag_free(e);
    } else {
        out = 0;
    }
    curl_easy_cleanup(c);
    return out;
}
