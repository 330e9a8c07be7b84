// SPDX-License-Identifier: Apache-2.0
//
// Builds a fixed set of spans, metrics or log records with the OpenTelemetry JS SDK and sends
// them to otterd through one of the SDK's real OTLP exporters. Driven by
// tests/integration/test_js_sdk.py.
//
//   node send.js --signal traces|metrics|logs --protocol http-json|http-proto|grpc
//                --endpoint URL [--compression gzip]
//
// The endpoint is the base URL (http://127.0.0.1:PORT); the HTTP exporters get /v1/<signal>
// appended. On stdout it prints one JSON object: {"sent": [...], "results": [...]}, where each
// element of "sent" is the OTLP/JSON of one export, produced by the exporter package's own
// otlp-transformer from exactly the objects handed to the exporter, and "results" holds each
// export's result code (0 = success).
'use strict';

const { createRequire } = require('node:module');
const path = require('node:path');
const api = require('@opentelemetry/api');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const {
  MeterProvider, PeriodicExportingMetricReader, AggregationType,
} = require('@opentelemetry/sdk-metrics');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');

function parseArgs(argv) {
  const out = { compression: 'none' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    out[k] = argv[i + 1];
  }
  for (const k of ['signal', 'protocol', 'endpoint']) {
    if (!out[k]) throw new Error('missing --' + k);
  }
  return out;
}

const PKG = {
  traces: { 'http-json': '@opentelemetry/exporter-trace-otlp-http',
    'http-proto': '@opentelemetry/exporter-trace-otlp-proto',
    grpc: '@opentelemetry/exporter-trace-otlp-grpc', cls: 'OTLPTraceExporter',
    serializer: 'JsonTraceSerializer' },
  metrics: { 'http-json': '@opentelemetry/exporter-metrics-otlp-http',
    'http-proto': '@opentelemetry/exporter-metrics-otlp-proto',
    grpc: '@opentelemetry/exporter-metrics-otlp-grpc', cls: 'OTLPMetricExporter',
    serializer: 'JsonMetricsSerializer' },
  logs: { 'http-json': '@opentelemetry/exporter-logs-otlp-http',
    'http-proto': '@opentelemetry/exporter-logs-otlp-proto',
    grpc: '@opentelemetry/exporter-logs-otlp-grpc', cls: 'OTLPLogExporter',
    serializer: 'JsonLogsSerializer' },
};

// The otlp-transformer the exporter package itself resolves (metrics exporters pin their own).
function transformerFor(pkgName) {
  const pkgDir = path.dirname(require.resolve(pkgName + '/package.json'));
  const req = createRequire(path.join(pkgDir, 'package.json'));
  let tr;
  try {
    tr = req('@opentelemetry/otlp-transformer');
  } catch (e) {
    const base = createRequire(req.resolve('@opentelemetry/otlp-exporter-base/package.json'));
    tr = base('@opentelemetry/otlp-transformer');
  }
  return tr;
}

function makeExporter(args) {
  const spec = PKG[args.signal];
  const pkgName = spec[args.protocol];
  if (!pkgName) throw new Error('unknown protocol ' + args.protocol);
  const mod = require(pkgName);
  const opts = { timeoutMillis: 10000 };
  if (args.compression && args.compression !== 'none') opts.compression = args.compression;
  if (args.protocol === 'grpc') {
    opts.url = args.endpoint;
  } else {
    opts.url = args.endpoint.replace(/\/$/, '') + '/v1/' + args.signal;
  }
  if (args.signal === 'metrics') {
    // DELTA preference: counters and histograms are delta, up-down counters stay cumulative.
    const { AggregationTemporalityPreference } = require('@opentelemetry/exporter-metrics-otlp-http');
    opts.temporalityPreference = AggregationTemporalityPreference.DELTA;
  }
  const serializer = transformerFor(pkgName)[spec.serializer];
  return { exporter: new mod[spec.cls](opts), serializer };
}

// Records what is handed to the real exporter (already serialized) and each result.
function tee(inner, serializer, state) {
  const t = {
    export(items, cb) {
      state.sent.push(JSON.parse(Buffer.from(serializer.serializeRequest(items)).toString('utf8')));
      inner.export(items, (res) => {
        state.results.push({ code: res.code, error: res.error ? String(res.error) : undefined });
        cb(res);
      });
    },
    shutdown() { return inner.shutdown(); },
    forceFlush() { return inner.forceFlush ? inner.forceFlush() : Promise.resolve(); },
  };
  if (inner.selectAggregationTemporality) {
    t.selectAggregationTemporality = (k) => inner.selectAggregationTemporality(k);
  }
  if (inner.selectAggregation) t.selectAggregation = (k) => inner.selectAggregation(k);
  return t;
}

const T0 = [1700000000, 123456789]; // HrTime
function at(ns) {
  return [T0[0] + Math.floor((T0[1] + ns) / 1e9), (T0[1] + ns) % 1e9];
}

function resource(args, extra) {
  return resourceFromAttributes(Object.assign({
    'service.name': 'otter-it-js',
    'otter.test.protocol': args.protocol,
    'res.int': 7,
    'res.double': 0.25,
    'res.bool': true,
    'res.arr': ['x', 'y'],
  }, extra || {}), { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
}

const ALL_TYPES = {
  str: 'hello \u00e9\u00e8 \u2603',
  'empty.str': '',
  'bool.t': true,
  'bool.f': false,
  int: 42,
  'int.neg': -7,
  'int.big': 9007199254740991,
  double: 3.25,
  'double.neg': -0.5,
  'double.tiny': 1.5e-300, // 1.5e300 would be sent as an (overflowing) intValue: Number.isInteger
  'arr.str': ['a', 'b', ''],
  'arr.bool': [true, false],
  'arr.int': [1, -2, 3],
  'arr.double': [1.5, -2.25],
};

async function sendTraces(args, state) {
  const { exporter, serializer } = makeExporter(args);
  const provider = new BasicTracerProvider({
    resource: resource(args),
    spanProcessors: [new BatchSpanProcessor(tee(exporter, serializer, state),
      { scheduledDelayMillis: 60000 })],
  });
  const tracer = provider.getTracer('otter.it.tracer', '1.2.3',
    { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
  const other = provider.getTracer('otter.it.other');
  const remote = {
    traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331',
    traceFlags: api.TraceFlags.SAMPLED, isRemote: true,
    traceState: api.createTraceState('vendor=v1,otter=t1'),
  };
  const linked = {
    traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174',
    traceFlags: api.TraceFlags.NONE, isRemote: true, traceState: api.createTraceState('k=v'),
  };
  const parentCtx = api.trace.setSpanContext(api.ROOT_CONTEXT, remote);
  const root = tracer.startSpan('server-span', {
    kind: api.SpanKind.SERVER, attributes: ALL_TYPES, startTime: T0,
    links: [{ context: linked, attributes: { 'link.str': 'l', 'link.int': 3, 'link.arr': [true] } },
      { context: remote }],
  }, parentCtx);
  root.addEvent('ev.one', { 'ev.str': 'e', 'ev.double': 1.25, 'ev.arr': ['p', 'q'] }, at(1000));
  root.addEvent('ev.empty', at(2000));
  const rootCtx = api.trace.setSpan(api.ROOT_CONTEXT, root);
  const kinds = [api.SpanKind.INTERNAL, api.SpanKind.CLIENT, api.SpanKind.PRODUCER,
    api.SpanKind.CONSUMER];
  kinds.forEach((k, i) => {
    const child = tracer.startSpan('child-' + i, {
      kind: k, attributes: { 'child.index': i }, startTime: at(10000 * (i + 1)),
    }, rootCtx);
    if (i === 0) child.setStatus({ code: api.SpanStatusCode.OK });
    if (i === 1) child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom: \u00fcnicode "q" \\' });
    if (i === 2) child.recordException(new Error('bad value'), at(35000));
    child.end(at(10000 * (i + 1) + 5000));
  });
  root.setStatus({ code: api.SpanStatusCode.ERROR });
  root.end(at(1e9));
  const lonely = other.startSpan('lonely', { attributes: { n: 1 } });
  lonely.end();
  await provider.forceFlush();
  await provider.shutdown();
}

async function sendMetrics(args, state) {
  const { exporter, serializer } = makeExporter(args);
  const reader = new PeriodicExportingMetricReader({
    exporter: tee(exporter, serializer, state), exportIntervalMillis: 3600000,
  });
  const provider = new MeterProvider({
    resource: resource(args),
    readers: [reader],
    views: [{ instrumentName: 'it.exp_histogram',
      aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 20 } } }],
  });
  const meter = provider.getMeter('otter.it.meter', '0.9',
    { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
  const counter = meter.createCounter('it.counter', { unit: '{req}', description: 'delta monotonic sum' });
  const updown = meter.createUpDownCounter('it.updown', { unit: '1', description: 'cumulative non-monotonic' });
  const hist = meter.createHistogram('it.histogram', { unit: 'ms', description: 'explicit buckets',
    advice: { explicitBucketBoundaries: [0, 5, 10, 100] } });
  const exph = meter.createHistogram('it.exp_histogram', { unit: 's' });
  const gauge = meter.createGauge('it.gauge', { unit: 'Cel', description: 'synchronous gauge' });
  const intCounter = meter.createCounter('it.counter.int', { valueType: api.ValueType.INT });
  meter.createObservableCounter('it.obs_counter', { unit: 's' })
    .addCallback((r) => { r.observe(1000, { cpu: 0 }); r.observe(2000, { cpu: 1 }); });
  meter.createObservableGauge('it.obs_gauge', { unit: 'Cel' })
    .addCallback((r) => { r.observe(-3.5, { zone: 'a' }); r.observe(0, { zone: 'b' }); });
  meter.createObservableUpDownCounter('it.obs_updown')
    .addCallback((r) => r.observe(-12));

  const pa = { route: '/a', code: 200, ok: true, ratio: 0.5, tags: ['x', 'y'] };
  counter.add(5, pa);
  counter.add(2.5, { route: '/b' });
  intCounter.add(3, { k: 'v' });
  updown.add(10, { q: 'a' });
  updown.add(-15, { q: 'a' });
  for (const v of [7.5, 0, 250, 1]) hist.record(v, pa);
  for (const v of [0.003, 0.5, 1, 2, 4, 8, 1000, 0]) exph.record(v, { k: 'v' });
  gauge.record(21, { room: 'r1' });
  gauge.record(-4.5, { room: 'r2' });
  await provider.forceFlush();
  await provider.shutdown();
}

const LOG_BODIES = [
  'plain string body',
  '',
  12345,
  -1,
  2.5,
  true,
  false,
  new Uint8Array([0, 98, 255]),
  ['a', 1, 2.5, true, ['nested'], { m: 1 }],
  { msg: 'structured', n: 3, list: [1, 2], map: { deep: { deeper: 'yes' } },
    bytes: new Uint8Array([1]) },
  [],
  {},
];

async function sendLogs(args, state) {
  const { exporter, serializer } = makeExporter(args);
  const provider = new LoggerProvider({
    resource: resource(args),
    processors: [new BatchLogRecordProcessor({ exporter: tee(exporter, serializer, state),
      scheduledDelayMillis: 60000 })],
  });
  const logger = provider.getLogger('otter.it.logger', '4.5.6',
    { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', attributes: { 'logger.attr': 'la' } });
  const plain = provider.getLogger('otter.it.plain');
  LOG_BODIES.forEach((body, i) => {
    const sev = (i % 24) + 1;
    const attrs = { seq: i };
    if (i === 0) {
      Object.assign(attrs, ALL_TYPES, { bytes: new Uint8Array([0, 1, 254, 255]),
        kvlist: { 'inner.str': 'x', 'inner.int': 5, 'inner.map': { deep: true } },
        'arr.mixed': ['s', 1, 2.5, false] });
    }
    const rec = { timestamp: at(i), observedTimestamp: at(1000 + i), severityNumber: sev,
      body, attributes: attrs };
    if (i % 3) rec.severityText = SeverityNumber[sev];
    if (i === 1) rec.eventName = 'otter.event';
    logger.emit(rec);
  });
  const spanCtx = {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7',
    traceFlags: api.TraceFlags.SAMPLED,
  };
  const ctx = api.trace.setSpanContext(api.ROOT_CONTEXT, spanCtx);
  logger.emit({ timestamp: at(100), severityNumber: SeverityNumber.WARN, severityText: 'WARN',
    body: 'inside a span', attributes: { seq: 100 }, context: ctx });
  plain.emit({ body: 'no timestamp', attributes: { seq: 102 } });
  await provider.forceFlush();
  await provider.shutdown();
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  api.diag.setLogger(new api.DiagConsoleLogger(), api.DiagLogLevel.WARN);
  const state = { sent: [], results: [] };
  const fn = { traces: sendTraces, metrics: sendMetrics, logs: sendLogs }[args.signal];
  state.errors = [];
  try {
    await fn(args, state);
  } catch (e) {
    state.errors.push(String(e && e.stack ? e.stack : e));
  }
  const versions = {};
  for (const p of Object.values(PKG[args.signal])) {
    if (p.startsWith('@opentelemetry/')) {
      try { versions[p] = require(p + '/package.json').version; } catch (e) { /* optional */ }
    }
  }
  process.stdout.write(JSON.stringify({ sent: state.sent, results: state.results,
    errors: state.errors, versions }) + '\n');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
