/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `chatbot`: the Q&A service's process. Parses the command line, runs the HTTP API on one
 * libevent loop, and on SIGTERM / SIGINT stops taking work (readyz 503) and exits 0.
 */
#include <errno.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ag_err.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "cb_history_dynamodb.h"
#include "cb_origin.h"
#include "cb_otel.h"
#include "cb_server.h"
#include "cb_xff.h"
#include "config.h"

static const char usage[] =
    "usage: chatbot [--listen HOST:PORT] [--max-sessions N] [--session-ttl SECONDS]\n"
    "               [--max-message BYTES] [--max-body BYTES] [--log-level LEVEL]\n"
    "               [--log-format text|json] [--rate-limit N[/s]] [--rate-burst N]\n"
    "               [--trusted-proxies N] [--origin-secret-file FILE]\n"
    "               [--provider local|bedrock] [--model-id ID] [--region REGION]\n"
    "               [--bedrock-endpoint URL] [--system-prompt-file FILE] [--max-tokens N]\n"
    "               [--temperature T] [--top-p P] [--history-tokens N]\n"
    "               [--bedrock-timeout SECONDS] [--bedrock-connect-timeout SECONDS]\n"
    "               [--bedrock-max-attempts N] [--kb-dir DIR]\n"
    "               [--history memory|dynamodb] [--dynamodb-table NAME]\n"
    "               [--dynamodb-region REGION] [--dynamodb-endpoint URL]\n"
    "       chatbot --version | --help\n"
    "\n"
    "Answers questions about operating Otter: from its bundled knowledge base (the local\n"
    "provider, the default) or with Amazon Bedrock Converse (--provider bedrock; credentials,\n"
    "region and endpoint also from the AWS_* environment). Defaults: --listen 127.0.0.1:8080,\n"
    "1000 sessions, 1800 s TTL, 4000-byte messages, 16384-byte bodies, no rate limit; bedrock:\n"
    "model " CB_BEDROCK_DEFAULT_MODEL ", 1000 max tokens, 3000 history tokens, 60 s timeout,\n"
    "2 s connect timeout, 3 attempts. --kb-dir: the local provider answers from the *.md files\n"
    "of DIR (read at start) instead of the bundled knowledge base. --history dynamodb keeps\n"
    "conversations in the DynamoDB table --dynamodb-table (items expire --session-ttl after they\n"
    "are written; credentials, region and endpoint also from the AWS_* environment).\n"
    "--trusted-proxies N (0-16, default 0): the client address (rate limit, telemetry) is hop N\n"
    "of X-Forwarded-For counting the peer as hop 1 (2 behind CloudFront and an ALB); 0 or 1,\n"
    "a shorter header or a malformed entry: the peer's address.\n"
    "--origin-secret-file FILE, or the value itself in CHATBOT_ORIGIN_SECRET (the file wins):\n"
    "every /api/ request must carry X-Otter-Origin-Verify equal to the secret (one value, or\n"
    "two separated by ',' while rotating; 16-256 visible ASCII characters each), else 403;\n"
    "/healthz, /readyz and the page stay open. Without either, no check.\n"
    "Telemetry (traces, metrics, logs) goes as OTLP/HTTP protobuf to\n"
    "OTEL_EXPORTER_OTLP_ENDPOINT, set up by the OTEL_* environment (OTEL_SDK_DISABLED=true\n"
    "turns it off).\n"
    "Every option can also be set in the environment as CHATBOT_<OPTION> (--model-id:\n"
    "CHATBOT_MODEL_ID, --history: CHATBOT_HISTORY, ...); the command line wins.\n";

/* The origin secret file's size cap: two values of CB_ORIGIN_MAX, a comma, a CRLF. */
#define MAX_ORIGIN_FILE (2u * CB_ORIGIN_MAX + 3u)

/* The system prompt file's size cap. */
#define MAX_PROMPT_FILE (64u * 1024u)

struct main_ctx {
    struct event_base *base;
    struct cb_server *srv;
    struct event *drain_timer;
    int drain_ticks;
    int signals;
};

/* Reads the whole of |path| (at most MAX_PROMPT_FILE bytes) into a new string; NULL on error,
 * with the reason on stderr. */
static char *read_prompt(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "chatbot: cannot open --system-prompt-file %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    char *buf = ag_malloc(MAX_PROMPT_FILE + 1);
    size_t n = buf != NULL ? fread(buf, 1, MAX_PROMPT_FILE + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > MAX_PROMPT_FILE;
    fclose(f);
    if (bad) {
        fprintf(stderr, "chatbot: --system-prompt-file %s: unreadable or over %u bytes\n", path,
                MAX_PROMPT_FILE);
        ag_free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        fprintf(stderr, "chatbot: --system-prompt-file %s: contains a NUL byte\n", path);
        ag_free(buf);
        return NULL;
    }
    return buf;
}

/* Loads the origin secret into |o|: from the file |path| when set, else from |env|
 * (CHATBOT_ORIGIN_SECRET's value). Returns 1 when a secret was loaded, 0 when neither is set,
 * -1 on error with the reason on stderr (never the secret). */
static int load_origin(const char *path, const char *env, struct cb_origin *o)
{
    char buf[MAX_ORIGIN_FILE + 1], err[160];
    const char *what = path != NULL ? "--origin-secret-file" : "CHATBOT_ORIGIN_SECRET";
    const char *spec = env;
    size_t n = env != NULL ? strlen(env) : 0;
    if (path == NULL && env == NULL) {
        return 0;
    }
    if (path != NULL) {
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            fprintf(stderr, "chatbot: cannot open --origin-secret-file %s: %s\n", path,
                    strerror(errno));
            return -1;
        }
        n = fread(buf, 1, sizeof(buf), f);
        int bad = ferror(f) != 0;
        fclose(f);
        if (bad || n > MAX_ORIGIN_FILE) {
            OPENSSL_cleanse(buf, sizeof(buf));
            fprintf(stderr, "chatbot: --origin-secret-file %s: unreadable or over %u bytes\n",
                    path, MAX_ORIGIN_FILE);
            return -1;
        }
        spec = buf;
    }
    int rc = cb_origin_parse(spec, n, o, err, sizeof(err));
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc != 0) {
        fprintf(stderr, "chatbot: bad origin secret in %s%s%s: %s\n", what, path ? " " : "",
                path ? path : "", err);
        return -1;
    }
    return 1;
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0') {
        return AG_EINVAL;
    }
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || (*end != '\0' && strcmp(end, "/s") != 0) || !(v >= min) ||
        !(v <= max)) {
        return AG_EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_size(const char *s, unsigned long long min, unsigned long long max,
                      unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    if (s == NULL || *s < '0' || *s > '9') {
        return AG_EINVAL;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return AG_EINVAL;
    }
    *out = v;
    return 0;
}

/* HOST:PORT, with an IPv6 host in brackets. |host| receives the host without brackets. */
static int parse_listen(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    unsigned long long p = 0;
    if (colon == NULL || parse_size(colon + 1, 0, 65535, &p) != 0) {
        return AG_EINVAL;
    }
    const char *h = s;
    size_t n = (size_t)(colon - s);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n == 0 || n >= cap) {
        return AG_EINVAL;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (uint16_t)p;
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct main_ctx *m = arg;
    if (++m->signals > 1) {
        ag_log_warn("chatbot", "second signal: exiting at once");
        exit(1);
    }
    ag_log_info("chatbot", "signal %d: draining and stopping", (int)sig);
    cb_server_drain(m->srv);
    struct timeval tick = {0, 100000};
    event_add(m->drain_timer, &tick);
}

/* While draining: waits for the answers in flight (at most 10 s), then a short grace lets the
 * last replies reach their sockets. */
static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct main_ctx *m = arg;
    struct timeval tick = {0, 100000};
    if (cb_server_in_flight(m->srv) > 0 && ++m->drain_ticks < 100) {
        event_add(m->drain_timer, &tick);
        return;
    }
    struct timeval grace = {0, 200000};
    event_base_loopexit(m->base, &grace);
}

static int run(int n_args, const char **args, int n_env);

/* The options that take a value, each also read from CHATBOT_<NAME> (upper case, '-' -> '_'). */
static const char *const env_options[] = {
    "listen",           "max-sessions",   "session-ttl",        "max-message",
    "max-body",         "history",        "dynamodb-table",     "dynamodb-region",
    "dynamodb-endpoint", "kb-dir",        "rate-limit",         "rate-burst",
    "provider",         "model-id",       "region",             "bedrock-endpoint",
    "system-prompt-file", "max-tokens",   "temperature",        "top-p",
    "history-tokens",   "bedrock-timeout", "bedrock-connect-timeout", "bedrock-max-attempts",
    "log-level",        "log-format",     "trusted-proxies",    "origin-secret-file",
};
#define N_ENV_OPTIONS (sizeof(env_options) / sizeof(env_options[0]))

/* The environment variable of option |opt| ("model-id" -> "CHATBOT_MODEL_ID") into |buf|. */
static void env_name(const char *opt, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "CHATBOT_");
    for (const char *p = opt; *p != '\0' && n + 1 < cap; p++) {
        buf[n++] = *p == '-' ? '_' : (char)(*p - ('a' <= *p && *p <= 'z' ? 'a' - 'A' : 0));
    }
    buf[n] = '\0';
}

int main(int argc, char **argv)
{
    /* Settings from the environment come first, so that the command line wins: the arguments
     * parsed are "--opt value" for each CHATBOT_<OPT> set, then argv. Variables the chatbot
     * does not know (Kubernetes' service links set CHATBOT_PORT and the like) are ignored. */
    const char *args[2 * N_ENV_OPTIONS + 1];
    char optbuf[N_ENV_OPTIONS][40];
    int n_env = 0;
    for (size_t k = 0; k < N_ENV_OPTIONS; k++) {
        char name[64];
        env_name(env_options[k], name, sizeof(name));
        const char *v = getenv(name);
        if (v != NULL) {
            (void)snprintf(optbuf[k], sizeof(optbuf[k]), "--%s", env_options[k]);
            args[n_env++] = optbuf[k];
            args[n_env++] = v;
        }
    }
    int n_args = n_env + argc - 1;
    const char **all = ag_malloc(((size_t)n_args + 1) * sizeof(*all));
    if (all == NULL) {
        fprintf(stderr, "chatbot: out of memory\n");
        return 1;
    }
    memcpy(all, args, (size_t)n_env * sizeof(*all));
    for (int i = 1; i < argc; i++) {
        all[n_env + i - 1] = argv[i];
    }
    all[n_args] = NULL;
    int status = run(n_args, all, n_env);
    ag_free(all);
    return status;
}

/* Parses |n_args| arguments (the first |n_env| from the environment) and runs the service. */
static int run(int n_args, const char **args, int n_env)
{
    struct cb_server_config cfg;
    struct main_ctx m = {0};
    char host[256];
    struct event *sigterm = NULL, *sigint = NULL;
    int level = AG_LOG_INFO, format = AG_LOG_TEXT, rc;

    struct cb_bedrock_config bcfg;
    const char *provider = "local", *prompt_file = NULL, *history = "memory";
    const char *origin_file = NULL;
    struct cb_origin origin;
    struct cb_history_dynamodb_config dcfg = {0};
    char *prompt = NULL;
    cb_server_config_defaults(&cfg);
    cb_bedrock_config_defaults(&bcfg);
    /* Every option takes one value; --help and --version return at once. */
    for (int i = 0; i < n_args; i += 2) {
        const char *a = args[i], *v = i + 1 < n_args ? args[i + 1] : NULL;
        unsigned long long n = 0;
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("chatbot %s\n", OTTER_VERSION);
            return 0;
        } else if (strcmp(a, "--listen") == 0) {
            bad = v == NULL || parse_listen(v, host, sizeof(host), &cfg.port) != 0;
            cfg.host = host;
        } else if (strcmp(a, "--max-sessions") == 0) {
            bad = parse_size(v, 1, 1000000, &n) != 0;
            cfg.max_sessions = (size_t)n;
        } else if (strcmp(a, "--session-ttl") == 0) {
            bad = parse_size(v, 1, 7 * 86400, &n) != 0;
            cfg.session_ttl_ms = n * 1000u;
        } else if (strcmp(a, "--max-message") == 0) {
            bad = parse_size(v, 1, 1024 * 1024, &n) != 0;
            cfg.max_message = (size_t)n;
        } else if (strcmp(a, "--max-body") == 0) {
            bad = parse_size(v, 64, 8 * 1024 * 1024, &n) != 0;
            cfg.max_body = (size_t)n;
        } else if (strcmp(a, "--history") == 0) {
            bad = v == NULL || (strcmp(v, "memory") != 0 && strcmp(v, "dynamodb") != 0);
            history = v;
        } else if (strcmp(a, "--dynamodb-table") == 0) {
            bad = v == NULL || *v == '\0' || strlen(v) > 255;
            dcfg.table = v;
        } else if (strcmp(a, "--dynamodb-region") == 0) {
            bad = v == NULL || *v == '\0';
            dcfg.region = v;
        } else if (strcmp(a, "--dynamodb-endpoint") == 0) {
            bad = v == NULL || (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0);
            dcfg.endpoint = v;
        } else if (strcmp(a, "--kb-dir") == 0) {
            bad = v == NULL || v[0] == '\0';
            cfg.kb_dir = v;
        } else if (strcmp(a, "--rate-limit") == 0) {
            bad = parse_double(v, 0.001, 1e6, &cfg.rate_limit) != 0;
        } else if (strcmp(a, "--trusted-proxies") == 0) {
            bad = parse_size(v, 0, CB_XFF_MAX_TRUSTED, &n) != 0;
            cfg.trusted_proxies = (unsigned)n;
        } else if (strcmp(a, "--origin-secret-file") == 0) {
            bad = v == NULL || *v == '\0';
            origin_file = v;
        } else if (strcmp(a, "--rate-burst") == 0) {
            bad = parse_size(v, 1, 1000000, &n) != 0;
            cfg.rate_burst = (double)n;
        } else if (strcmp(a, "--provider") == 0) {
            bad = v == NULL || (strcmp(v, "local") != 0 && strcmp(v, "bedrock") != 0);
            provider = v;
        } else if (strcmp(a, "--model-id") == 0) {
            bad = v == NULL || *v == '\0' || strlen(v) > CB_BEDROCK_MAX_MODEL_ID;
            bcfg.model_id = v;
        } else if (strcmp(a, "--region") == 0) {
            bad = v == NULL || *v == '\0';
            bcfg.region = v;
        } else if (strcmp(a, "--bedrock-endpoint") == 0) {
            bad = v == NULL || (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0);
            bcfg.endpoint = v;
        } else if (strcmp(a, "--system-prompt-file") == 0) {
            bad = v == NULL;
            prompt_file = v;
        } else if (strcmp(a, "--max-tokens") == 0) {
            bad = parse_size(v, 1, 1000000, &n) != 0;
            bcfg.max_tokens = (unsigned)n;
        } else if (strcmp(a, "--temperature") == 0) {
            bad = parse_double(v, 0, 1, &bcfg.temperature) != 0;
        } else if (strcmp(a, "--top-p") == 0) {
            bad = parse_double(v, 0, 1, &bcfg.top_p) != 0;
        } else if (strcmp(a, "--history-tokens") == 0) {
            bad = parse_size(v, 0, 1000000, &n) != 0;
            bcfg.history_tokens = (size_t)n;
        } else if (strcmp(a, "--bedrock-timeout") == 0) {
            bad = parse_size(v, 1, 3600, &n) != 0;
            bcfg.timeout_ms = n * 1000u;
        } else if (strcmp(a, "--bedrock-connect-timeout") == 0) {
            bad = parse_size(v, 1, 600, &n) != 0;
            bcfg.connect_timeout_ms = n * 1000u;
        } else if (strcmp(a, "--bedrock-max-attempts") == 0) {
            bad = parse_size(v, 1, 10, &n) != 0;
            bcfg.max_attempts = (unsigned)n;
        } else if (strcmp(a, "--log-level") == 0) {
            level = v ? ag_log_level_parse(v) : -1;
            bad = level < 0;
        } else if (strcmp(a, "--log-format") == 0) {
            bad = v == NULL || (strcmp(v, "text") != 0 && strcmp(v, "json") != 0);
            format = v && strcmp(v, "json") == 0 ? AG_LOG_JSON : AG_LOG_TEXT;
        } else {
            fprintf(stderr, "chatbot: unknown argument %s\n%s", a, usage);
            return 2;
        }
        if (bad && i < n_env) {
            char name[64];
            env_name(a + 2, name, sizeof(name));
            fprintf(stderr, "chatbot: bad value for %s (from the environment, as %s): \"%s\"\n",
                    name, a, v);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "chatbot: bad or missing value for %s\n", a);
            return 2;
        }
    }
    if (cfg.rate_limit > 0) {
        cfg.rate_burst = cfg.rate_burst > 1 ? cfg.rate_burst : 1;
    }
    if (strcmp(provider, "bedrock") == 0) {
        if (prompt_file != NULL) {
            prompt = read_prompt(prompt_file);
            if (prompt == NULL) {
                return 2;
            }
            bcfg.system_prompt = prompt;
        }
        cfg.bedrock = &bcfg;
    }
    if (strcmp(history, "dynamodb") == 0) {
        if (dcfg.table == NULL) {
            fprintf(stderr, "chatbot: --history dynamodb needs --dynamodb-table NAME\n");
            ag_free(prompt);
            return 2;
        }
        dcfg.ttl_s = cfg.session_ttl_ms / 1000u;
        dcfg.max_turns = cfg.max_turns;
        cfg.dynamodb = &dcfg;
    } else if (dcfg.table != NULL || dcfg.region != NULL || dcfg.endpoint != NULL) {
        fprintf(stderr, "chatbot: the --dynamodb-* options need --history dynamodb\n");
        ag_free(prompt);
        return 2;
    }
    /* The secret's value is never an argument (it would show in ps): a file, or the
     * environment variable the ExternalSecret fills (k8s/). */
    int has_origin = load_origin(origin_file, getenv("CHATBOT_ORIGIN_SECRET"), &origin);
    if (has_origin < 0) {
        ag_free(prompt);
        return 2;
    }
    cfg.origin = has_origin > 0 ? &origin : NULL;
    ag_log_setup((enum ag_log_level)level, (enum ag_log_format)format);
    /* The service needs no privilege: its image and k8s run it as 10001 (README "Limits"). */
    if (geteuid() == 0) {
        ag_log_warn("chatbot", "running as root: the chatbot needs no privilege; run it as an "
                               "unprivileged user (its image uses 10001:10001)");
    }
    signal(SIGPIPE, SIG_IGN);
    m.base = event_base_new();
    if (m.base == NULL) {
        ag_log_error("chatbot", "cannot create the event loop");
        cb_origin_clear(&origin);
        ag_free(prompt);
        return 1;
    }
    /* Telemetry from the OTEL_* environment (chatbot/README.md "Telemetry"); without it the
     * service still runs. */
    struct cb_otel *tel = NULL;
    rc = cb_otel_new_from_env(m.base, OTTER_VERSION, &tel);
    if (rc != 0) {
        ag_log_error("chatbot", "telemetry disabled: %s", ag_strerror(rc));
        tel = NULL;
    }
    cfg.tel = tel;
    /* The signals are watched before the port opens: a SIGTERM right after "listening" drains
     * (the callbacks run only in the loop, once the server exists). */
    m.drain_timer = evtimer_new(m.base, on_drain_tick, &m);
    sigterm = evsignal_new(m.base, SIGTERM, on_signal, &m);
    sigint = evsignal_new(m.base, SIGINT, on_signal, &m);
    if (m.drain_timer == NULL || sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) != 0 ||
        evsignal_add(sigint, NULL) != 0) {
        ag_log_error("chatbot", "cannot watch signals");
        rc = AG_ENOMEM;
    } else if ((rc = cb_server_new(m.base, &cfg, &m.srv)) != 0) {
        ag_log_error("chatbot", "cannot start: %s", ag_strerror(rc));
    } else {
        event_base_dispatch(m.base);
        ag_log_info("chatbot", "stopped");
    }
    if (sigterm != NULL) {
        event_free(sigterm);
    }
    if (sigint != NULL) {
        event_free(sigint);
    }
    if (m.drain_timer != NULL) {
        event_free(m.drain_timer);
    }
    /* The server first: requests still open end their spans; then the last telemetry is
     * flushed (at most 5 s) on the loop, before it is freed. */
    bool started = m.srv != NULL;
    cb_server_free(m.srv);
    if (started && cb_otel_shutdown(tel, 5000) != 0) {
        ag_log_warn("chatbot", "telemetry: some spans, points or records were not sent at exit");
    }
    cb_otel_free(tel);
    event_base_free(m.base);
    ag_free(prompt);
    cb_origin_clear(&origin);
    libevent_global_shutdown();
    return rc == 0 ? 0 : 1;
}
