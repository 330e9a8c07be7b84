#ifndef AG_CONFIG_H
#define AG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "ag_otlp.h"

/*
 * otterd's configuration: the OpenTelemetry Collector's shape (receivers, processors, exporters,
 * extensions, service.pipelines) with ADOT's option names, parsed from YAML with ${env:VAR}
 * expansion. Every key is checked: an unknown key is an error with file:line:col; a key the
 * collector knows but Otter does not implement is accepted with a warning.
 *
 * All strings are owned by the ag_config and freed by ag_config_free(). Durations are in
 * nanoseconds, sizes in bytes.
 */

struct ag_config_loc {
    int line; /* 1-based; 0 when the value came from a default */
    int col;  /* 1-based */
};

struct ag_tls_config {
    int enabled;          /* a tls: block was given */
    char *cert_file;
    char *key_file;
    char *ca_file;        /* accepted for client compatibility */
    char *client_ca_file; /* set: clients must present a certificate signed by it (mTLS) */
    char *min_version;    /* "1.2" (default) or "1.3" */
};

struct ag_cors_config {
    char **allowed_origins; /* may contain "*" or wildcards like "https://<star>.example.com" */
    size_t n_allowed_origins;
    char **allowed_headers;
    size_t n_allowed_headers;
    int64_t max_age; /* seconds; 0 = not sent */
};

/* receivers: otlp */
struct ag_otlp_receiver_config {
    int grpc_enabled;            /* protocols.grpc present */
    char *grpc_endpoint;         /* "localhost:4317" */
    uint64_t grpc_max_recv_msg_size; /* max_recv_msg_size_mib * MiB; default (and 0) 4 MiB */
    uint32_t grpc_max_concurrent_streams; /* 0 = nghttp2's default (100) */
    uint64_t grpc_keepalive_max_connection_idle; /* ns; 0 = none */
    uint64_t grpc_keepalive_max_connection_age;  /* ns; 0 = none */
    uint64_t grpc_keepalive_max_connection_age_grace; /* ns; 0 = none */
    uint64_t grpc_keepalive_time;                     /* ns; 0 = grpc-go's 2h */
    uint64_t grpc_keepalive_timeout;                  /* ns; 0 = grpc-go's 20s */
    uint64_t grpc_keepalive_min_time;                 /* enforcement_policy; ns; 0 = grpc-go's 5m */
    int grpc_keepalive_permit_without_stream;         /* enforcement_policy */
    struct ag_tls_config grpc_tls;

    int http_enabled;            /* protocols.http present */
    char *http_endpoint;         /* "localhost:4318" */
    uint64_t http_max_request_body_size; /* bytes; default (and 0) 20 MiB (20971520) */
    char **http_compression_algorithms;  /* Content-Encodings accepted; none listed = all */
    size_t n_http_compression_algorithms;
    struct ag_tls_config http_tls;
    int cors_enabled;
    struct ag_cors_config cors;
    char *traces_url_path;       /* "/v1/traces" */
    char *metrics_url_path;      /* "/v1/metrics" */
    char *logs_url_path;         /* "/v1/logs" */
    uint64_t http_read_header_timeout; /* ns; default 1m */
    uint64_t http_idle_timeout;  /* ns; default 1m */
};

/* processors: batch */
struct ag_batch_config {
    uint32_t send_batch_size;     /* default 8192 */
    uint32_t send_batch_max_size; /* default 0 = unlimited; must be >= send_batch_size */
    uint64_t timeout;             /* ns; default 200ms; 0 = send at once */
};

/* processors: resource (the collector's attribute actions, on resource attributes) */
enum ag_attr_action_kind {
    AG_ATTR_INSERT,
    AG_ATTR_UPDATE,
    AG_ATTR_UPSERT,
    AG_ATTR_DELETE,
    AG_ATTR_HASH,
    AG_ATTR_EXTRACT,
    AG_ATTR_CONVERT,
};

enum ag_attr_type {
    AG_ATTR_STRING,
    AG_ATTR_INT,
    AG_ATTR_DOUBLE,
    AG_ATTR_BOOL,
};

struct ag_attr_action {
    enum ag_attr_action_kind action;
    char *key;            /* NULL: the action works on the keys |pattern| matches (delete, hash) */
    char *pattern;        /* delete, hash: POSIX ERE over keys; extract: over the value, with
                           * (?P<name>...) groups */
    char *from_attribute; /* insert, update, upsert: the value of another attribute */
    int has_value;        /* insert, update, upsert: |value| (typed as YAML types it) */
    enum ag_attr_type value_type;
    char *value; /* the text; strings as written */
    int64_t int_value;
    double double_value;
    enum ag_attr_type converted_type; /* convert: int, double or string */
    char **group_names; /* extract: the named groups' names, and their group numbers */
    size_t *group_index;
    size_t n_groups;
};

struct ag_attr_actions {
    struct ag_attr_action *items;
    size_t n;
};

struct ag_resource_config {
    struct ag_attr_actions attributes;
};

/* processors: attributes (the same actions on spans', log records' and data points' own) */
struct ag_attributes_config {
    struct ag_attr_actions actions;
};

/*
 * Go's named groups in a regex, (?P<name>re) and (?<name>re), made plain POSIX groups: the ERE
 * goes to |*ere|, each name and its group number (1-based, counting every group) to |*names|
 * and |*index| (|*n| of them; all freed with ag_free, the names one by one). Returns 0,
 * AG_EINVAL (another (? construct, which POSIX lacks) or AG_ENOMEM.
 */
AG_NODISCARD int ag_config_named_groups(const char *pattern, char **ere, char ***names,
                                        size_t **index, size_t *n);

/* processors: memory_limiter */
struct ag_memory_limiter_config {
    uint64_t check_interval;     /* ns; required (> 0) as in the collector */
    uint64_t limit_mib;          /* in MiB, as written; one of limit_mib / limit_percentage is
                                    required (limit_mib wins when both are set) */
    uint64_t spike_limit_mib;    /* in MiB; default limit_mib / 5 (20 %); always < limit_mib */
    uint32_t limit_percentage;   /* 0..100, of the cgroup limit or of total memory */
    uint32_t spike_limit_percentage; /* default limit_percentage / 5; always < limit_percentage
                                        when limit_percentage is used */
};

/* processors: resource_detection (alias resourcedetection) */
/* Resource attributes the system and ec2 detectors set (resource_attributes.<name>.enabled). */
enum ag_rd_attr {
    AG_RD_HOST_NAME,
    AG_RD_OS_TYPE,
    AG_RD_HOST_ID,
    AG_RD_HOST_ARCH,
    AG_RD_OS_DESCRIPTION,
    AG_RD_CLOUD_PROVIDER,
    AG_RD_CLOUD_PLATFORM,
    AG_RD_CLOUD_REGION,
    AG_RD_CLOUD_ACCOUNT_ID,
    AG_RD_CLOUD_AVAILABILITY_ZONE,
    AG_RD_HOST_IMAGE_ID,
    AG_RD_HOST_TYPE,
    AG_RD_ATTRS
};

/* The attribute names, by enum ag_rd_attr. */
extern const char *const ag_rd_attr_names[AG_RD_ATTRS];

/* What a config said of a detector's attributes: bits 1u << enum ag_rd_attr. */
struct ag_rd_attrs {
    unsigned on;  /* enabled: true */
    unsigned off; /* enabled: false */
};

struct ag_resource_detection_config {
    char **detectors; /* "env", "eks", "system", "ec2" (others: error "not supported") */
    size_t n_detectors;
    int override;     /* default true */
    uint64_t timeout; /* ns; default 5s */
    char *eks_node_from_env_var; /* eks.node_from_env_var, default "K8S_NODE_NAME" */
    char **hostname_sources;     /* system.hostname_sources: dns, os, cname, lookup; none =
                                  * dns, os */
    size_t n_hostname_sources;
    struct ag_rd_attrs system_attrs; /* system.resource_attributes */
    struct ag_rd_attrs ec2_attrs;    /* ec2.resource_attributes */
};

enum ag_debug_verbosity {
    AG_DEBUG_BASIC = 0,
    AG_DEBUG_NORMAL = 1,
    AG_DEBUG_DETAILED = 2,
};

/* exporters: debug */
struct ag_debug_config {
    enum ag_debug_verbosity verbosity; /* default basic */
};

/* exporters: file */
struct ag_file_config {
    char *path;              /* required */
    uint64_t rotation_max_megabytes; /* rotation.max_megabytes; 0 = no rotation (default 100 when
                                        a rotation: block is given) */
    uint32_t rotation_max_backups;   /* rotation.max_backups; default 100 */
    uint64_t flush_interval; /* ns; default 1s */
    /* Added by ag_config (not in the first contract): */
    uint32_t rotation_max_days;      /* rotation.max_days: delete backups older than this many
                                        days; 0 = keep (default) */
    int rotation_localtime;          /* rotation.localtime: backup names in local time instead of
                                        UTC (default 0) */
    int append;                      /* append to an existing file instead of truncating it
                                        (default 0); never together with rotation */
};

/* exporters: the options every AWS exporter shares (ADOT's awsutil.AWSSessionSettings names) */
struct ag_aws_session_config {
    char *region;           /* NULL = the environment / profile / IMDS */
    char *endpoint;         /* override URL, e.g. "http://127.0.0.1:4566"; NULL = the service's */
    char *role_arn;         /* set: STS AssumeRole on top of the credentials chain */
    char *external_id;      /* AssumeRole ExternalId */
    char *sts_region;       /* region of the STS calls; NULL = region */
    char *profile;          /* shared-file profile; NULL = AWS_PROFILE or "default" */
    uint32_t max_retries;   /* retries after the first attempt; default 2 */
    int no_verify_ssl;      /* skip TLS verification (tests, proxies) */
    char *proxy_address;    /* proxy URL; NULL = none */
    int local_mode;         /* no EC2/ECS metadata lookups (otterd makes none for this anyway) */
    uint32_t request_timeout_seconds; /* per attempt; default 30, > 0 */
    uint32_t num_workers;   /* API calls in flight at most; default 8, > 0 */
    char *resource_arn;     /* accepted (ADOT: telemetry records); unused */
    char *certificate_file_path; /* accepted with a warning; the system CA store is used */
};

/* receivers: awsxray's proxy_server, the TCP relay of the X-Ray SDKs' sampling calls. */
struct ag_xray_proxy_config {
    char *endpoint;     /* TCP, "localhost:2000"; "" = off */
    int configured;     /* proxy_server was written: failing to listen is then an error */
    char *service_name; /* signing name, "xray" */
    /* region, aws_endpoint (as endpoint), role_arn, proxy_address, tls.insecure (as
     * no_verify_ssl), local_mode; the rest keep the session defaults */
    struct ag_aws_session_config aws;
};

/* receivers: awsxray (X-Ray daemon datagrams, ADOT's key names) */
struct ag_xray_receiver_config {
    char *endpoint;  /* "localhost:2000" (specs/xray.md 13.2; the collector's localhost default) */
    char *transport; /* "udp", the only transport */
    struct ag_xray_proxy_config proxy;
};

/* exporters: awsxray */
struct ag_awsxray_config {
    struct ag_aws_session_config aws;
    char **indexed_attributes;
    size_t n_indexed_attributes;
    int index_all_attributes;
    char **aws_log_groups;
    size_t n_aws_log_groups;
    int skip_timestamp_validation; /* gate exporter.awsxray.skiptimestampvalidation; default 0 */
    int allow_dot;                 /* gate exporter.xray.allowDot; default 1 */
    uint32_t queue_size; /* sending_queue.queue_size (default 1000): the exporter queues at most
                            queue_size * 64 KiB of documents (xray.md's largest document) */
};

/* key/value string pairs (tags): kv[2i] is a key, kv[2i+1] its value */
struct ag_string_pairs {
    char **kv;
    size_t n; /* pairs; kv holds 2 * n strings */
};

/* exporters: awscloudwatchlogs */
struct ag_awscloudwatchlogs_config {
    struct ag_aws_session_config aws;
    char *log_group_name;  /* required; may hold {placeholders} of resource attributes */
    char *log_stream_name; /* required; same */
    uint32_t log_retention; /* days, one of the values CloudWatch accepts; 0 = never expire */
    struct ag_string_pairs tags; /* ≤ 50, for the log groups this exporter creates */
    int raw_log;           /* the body verbatim as the message (EMF bodies routed) */
    int emf_only;          /* with raw_log: drop records whose body is not EMF */
    uint32_t queue_size;   /* sending_queue.queue_size (default 1000): at most queue_size * 64
                              KiB of messages queued */
    uint64_t max_event_size; /* Otter's key: the per-event limit in bytes, counting CloudWatch's 26
                                per event (default 262144, at most 1048576) */
};

/* exporters: awsemf, one label matcher of a metric declaration */
struct ag_emf_label_matcher {
    char **label_names; /* required, non-empty */
    size_t n_label_names;
    char *separator;    /* NULL = ";" */
    char *regex;        /* required; POSIX extended, checked at load */
};

/* exporters: awsemf, one metric_declarations entry */
struct ag_emf_declaration {
    char ***dimensions;       /* sets of label names, as written */
    size_t *n_dimension_names; /* size of each set */
    size_t n_dimensions;
    char **metric_name_selectors; /* required, non-empty; POSIX extended, checked at load */
    size_t n_metric_name_selectors;
    struct ag_emf_label_matcher *label_matchers;
    size_t n_label_matchers;
};

struct ag_emf_declarations {
    struct ag_emf_declaration *items;
    size_t n;
};

/* exporters: awsemf, one metric_descriptors entry */
struct ag_emf_descriptor {
    char *metric_name; /* required */
    char *unit;        /* required */
    int overwrite;     /* default false */
};

struct ag_emf_descriptors {
    struct ag_emf_descriptor *items;
    size_t n;
};

/* exporters: awsemf (ADOT's keys; emf-cwlogs.md 3-8) */
struct ag_awsemf_config {
    struct ag_aws_session_config aws;
    char *namespace_;        /* "namespace"; NULL = derived from service.namespace/name */
    char *log_group_name;    /* NULL = "/metrics/<namespace>"; {placeholders} */
    char *log_stream_name;   /* NULL = "otel-stream-<uuid>"; {placeholders} */
    uint32_t log_retention;  /* days (CloudWatch's values), 0 = never expire */
    struct ag_string_pairs tags; /* ≤ 50, for the log groups this exporter creates */
    int rollup;              /* dimension_rollup_option: 0 ZeroAndSingleDimensionRollup (default),
                                1 SingleDimensionRollupOnly, 2 NoDimensionRollup (and "" or any
                                other value, as upstream) */
    struct ag_emf_declarations metric_declarations;
    struct ag_emf_descriptors metric_descriptors;
    char **parse_json_encoded_attr_values;
    size_t n_parse_json_encoded_attr_values;
    int detailed_metrics;
    int retain_initial_value_of_delta_metric;
    int resource_to_telemetry_conversion; /* resource_to_telemetry_conversion.enabled */
    int output_stdout;       /* output_destination: "stdout" -> 1, "cloudwatch" (default) -> 0 */
    int version0;            /* version: "0" -> 1; "1" (default) -> 0 */
    int omit_invalid_units;  /* Otter's key: drop units outside CloudWatch's enum */
    uint32_t delta_max_entries; /* Otter's key: the delta cache's cap (default 100000) */
    uint64_t delta_ttl;      /* Otter's key, ns: the delta cache's TTL (default 5m) */
    uint32_t queue_size;     /* sending_queue.queue_size (default 1000): at most queue_size * 64
                                KiB of events queued */
    uint64_t max_event_size; /* Otter's key: the per-event limit counting the 26 bytes
                                (default 262144, at most 1048576) */
};

/* exporters: slo (Otter's own; specs/slo.md, slo/README.md): alert sinks */
struct ag_slo_webhook_config {
    char *endpoint;          /* http(s) URL; NULL = no webhook */
    int slack;               /* format: "slack" -> 1 (Slack-compatible {"text": ...}), "json" -> 0 */
    uint64_t timeout;        /* ns per attempt; default 5s */
    uint32_t max_retries;    /* retries after the first attempt; default 3 */
    struct ag_string_pairs headers; /* extra request headers (e.g. Authorization) */
};

struct ag_slo_sns_config {
    struct ag_aws_session_config aws;
    char *topic_arn;         /* NULL = no SNS sink */
};

/* exporters: slo: the EMF SLO metrics (slo/engine/slo_cw.h names) */
struct ag_slo_metrics_config {
    struct ag_aws_session_config aws;
    int destination;         /* output_destination: 0 none (default), 1 cloudwatch, 2 stdout */
    char *namespace_;        /* default "Otter/SLO" */
    char *log_group_name;    /* default "/otter/slo" */
    char *log_stream_name;   /* default "otterd-{host}" style, chosen by the exporter */
    uint64_t interval;       /* ns between emissions; default 60s */
};

struct ag_slo_config {
    char **definitions;      /* files of OpenSLO v1 / otter/v1 YAML; at least one */
    size_t n_definitions;
    char *state_file;        /* checkpoint path; NULL = no checkpoint */
    uint64_t checkpoint_interval; /* ns; default 60s */
    uint64_t evaluation_interval; /* ns between evaluations (alerts); default 10s */
    int alert_log;           /* alerts.log: write each firing/resolved to the log; default 1 */
    struct ag_slo_webhook_config webhook; /* alerts.webhook */
    struct ag_slo_sns_config sns;         /* alerts.sns */
    struct ag_slo_metrics_config metrics; /* metrics */
};

/* extensions: health_check */
struct ag_health_check_config {
    char *endpoint; /* "localhost:13133" */
    char *path;     /* "/" */
};

enum ag_component_kind {
    AG_KIND_RECEIVER = 0,
    AG_KIND_PROCESSOR = 1,
    AG_KIND_EXPORTER = 2,
    AG_KIND_EXTENSION = 3,
};

enum ag_component_type {
    AG_COMP_OTLP_RECEIVER,
    AG_COMP_BATCH,
    AG_COMP_MEMORY_LIMITER,
    AG_COMP_RESOURCE_DETECTION,
    AG_COMP_DEBUG,
    AG_COMP_FILE,
    AG_COMP_NOP, /* exporter that discards: benchmarks */
    AG_COMP_HEALTH_CHECK,
    AG_COMP_AWSXRAY_EXPORTER,
    AG_COMP_AWSXRAY_RECEIVER,           /* receivers: awsxray (traces pipelines only) */
    AG_COMP_AWSCLOUDWATCHLOGS_EXPORTER, /* exporters: awscloudwatchlogs (logs pipelines only) */
    AG_COMP_AWSEMF_EXPORTER,            /* exporters: awsemf (metrics pipelines only) */
    AG_COMP_SLO_EXPORTER,               /* exporters: slo (traces and metrics pipelines) */
    AG_COMP_GO_DEBUG,   /* extensions pprof and zpages: accepted, not started (a warning) */
    AG_COMP_RESOURCE,   /* processors: resource */
    AG_COMP_ATTRIBUTES, /* processors: attributes */
};

struct ag_component_config {
    char *id;   /* "type[/name]" as written, e.g. "batch/traces" */
    enum ag_component_kind kind;
    enum ag_component_type type;
    struct ag_config_loc loc;
    union {
        struct ag_otlp_receiver_config otlp;
        struct ag_batch_config batch;
        struct ag_memory_limiter_config memory_limiter;
        struct ag_resource_detection_config resource_detection;
        struct ag_resource_config resource;
        struct ag_attributes_config attributes;
        struct ag_debug_config debug;
        struct ag_file_config file;
        struct ag_health_check_config health_check;
        struct ag_awsxray_config awsxray_exporter;
        struct ag_xray_receiver_config awsxray_receiver;
        struct ag_awscloudwatchlogs_config awscloudwatchlogs;
        struct ag_awsemf_config awsemf;
        struct ag_slo_config slo;
    } u;
};

struct ag_pipeline_config {
    char *id; /* "traces" or "traces/name" */
    enum ag_signal signal;
    struct ag_config_loc loc;
    /* Indexes into ag_config.components, in the order written. */
    size_t *receivers;
    size_t n_receivers;
    size_t *processors;
    size_t n_processors;
    size_t *exporters;
    size_t n_exporters;
};

struct ag_config {
    char *source; /* the file name, or "<default>" */
    struct ag_component_config *components;
    size_t n_components;
    struct ag_pipeline_config *pipelines;
    size_t n_pipelines;
    size_t *extensions; /* service.extensions: indexes into components */
    size_t n_extensions;

    /* service.telemetry */
    int log_level;       /* enum ag_log_level; service.telemetry.logs.level, default info */
    int log_json;        /* service.telemetry.logs.encoding: "json" -> 1, "console" -> 0 */
    char *metrics_address; /* service.telemetry.metrics.address: the admin listener (/healthz,
                              /readyz, /metrics); default "localhost:8888"; "" disables */
    uint64_t shutdown_timeout; /* service.shutdown_timeout (Otter's key), ns; default 10s */
};

/*
 * Parses the YAML file |path|. Errors and warnings are written to |diag| one per line as
 * "file:line:col: error: message" / "file:line:col: warning: message" (|diag| may be NULL).
 * Returns 0 and a new config in |*out| (free with ag_config_free()), or AG_EINVAL when the
 * config is invalid, AG_ENOTFOUND / AG_EIO when the file cannot be read, AG_ENOMEM.
 */
AG_NODISCARD int ag_config_load_file(const char *path, struct ag_config **out,
                                     struct ag_buf *diag);

/*
 * Like ag_config_load_file() for YAML text in memory; |name| is used in messages.
 */
AG_NODISCARD int ag_config_load_string(const char *name, const char *yaml, size_t len,
                                       struct ag_config **out, struct ag_buf *diag);

/*
 * Returns the built-in default config (ARCHITECTURE.md): otlp on localhost:4317 and :4318,
 * batch, and one file exporter per signal writing under |data_dir| ("./otter-data" when NULL):
 * traces.jsonl, metrics.jsonl, logs.jsonl.
 */
AG_NODISCARD int ag_config_default(const char *data_dir, struct ag_config **out,
                                   struct ag_buf *diag);

/*
 * Frees |cfg| and every string it owns. ag_config_free(NULL) is a no-op.
 */
void ag_config_free(struct ag_config *cfg);

/*
 * Returns the index in |cfg|->components of the component of |kind| whose id is |id| (as
 * written, e.g. "batch/traces"), or -1 when there is none. (Added by ag_config.)
 */
long ag_config_find(const struct ag_config *cfg, enum ag_component_kind kind, const char *id);

struct slo_defs;

/*
 * Reads every file of |cfg|->definitions (relative paths: from the working directory) into one
 * set of SLO definitions and finishes it (references resolve across the files). Diagnostics go to
 * |diag| (borrowed; may be NULL; it must outlive the set) as "file:line:col: error: ...", plus
 * "file: error: cannot read: ..." for a file that cannot be read. The config loader calls this
 * for every slo exporter, so `otterd validate` reports SLO definition errors.
 * Returns 0 and a new set in |*out| (free with slo_defs_free()), AG_EINVAL when a file cannot be
 * read or has errors, or AG_ENOMEM.
 */
AG_NODISCARD int ag_config_slo_defs(const struct ag_slo_config *cfg, struct ag_buf *diag,
                                    struct slo_defs **out);

/*
 * Splits "host:port" (also "[v6]:port" and ":port", which means all interfaces) into |host|
 * (|hostlen| bytes) and |*port|. Returns 0 or AG_EINVAL.
 */
AG_NODISCARD int ag_config_split_endpoint(const char *endpoint, char *host, size_t hostlen,
                                          int *port);

#endif /* AG_CONFIG_H */
