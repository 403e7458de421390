import { gunzipSync } from 'node:zlib';
import { readAll, sendJson, serveLocally } from './http';

/**
 * A loopback OTLP/HTTP trace receiver, as an OpenTelemetry collector's `otlp` receiver speaks it
 * with the JSON encoding (`POST /v1/traces`, `application/json`, gzip or not): it keeps every span
 * it is sent, flattened with its resource's service name. Anything else (protobuf included) is
 * refused with the status a collector answers, so an exporter sending the wrong thing fails a test.
 */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  serviceName: string;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: AnyValue[] } };
type KeyValue = { key: string; value: AnyValue };

function valueOf(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));
}

interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: KeyValue[]; status?: { code?: number; message?: string } }[] }[];
  }[];
}

export interface OtlpReceiver {
  /** What an exporter is pointed at: OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans: ReceivedSpan[];
  /** The requests refused (wrong path, method or content type). */
  refused: number;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const receiver = { spans, refused: 0 };
  const server = await serveLocally(
    async (req, res) => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        receiver.refused += 1;
        return sendJson(res, 404, { code: 5, message: `no ${req.method} ${req.url}` });
      }
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        receiver.refused += 1;
        return sendJson(res, 415, { code: 3, message: `unsupported content type ${req.headers['content-type']}` });
      }
      const raw = await readAll(req);
      const body = JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')) as ExportRequest;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const serviceName = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '');
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind,
              serviceName,
              attributes: attributesOf(span.attributes),
              status: span.status ?? {},
            });
          }
        }
      }
      sendJson(res, 200, {});
    },
    (res, error) => sendJson(res, 400, { code: 3, message: String(error) }),
  );
  return Object.assign(receiver, { endpoint: server.baseUrl, close: server.close });
}
