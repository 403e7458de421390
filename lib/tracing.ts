import { diag, DiagLogLevel } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { AppConfig } from './config';
import { moduleLogger } from './logger';

const log = moduleLogger('tracing');

/**
 * OpenTelemetry traces, off unless an OTLP endpoint is configured (lib/config.ts `tracing`). When
 * on, one trace follows a piece of work from the API request that asked for it (api/observability.ts)
 * through the workflow start (the Temporal client interceptor), the workflow run and the activities
 * it schedules (the worker's interceptors; workflow spans leave the sandbox through a sink) down to
 * each call of an outside service (providers/http.ts). When off, nothing here is installed: the
 * OpenTelemetry API stays its no-op self and the API mounts no tracing middleware.
 *
 * Like Temporal's `Runtime.install`, tracing is started once per process, by its entry point,
 * before the application context (whose Temporal client it instruments) is created.
 */
export interface Tracing {
  resource: Resource;
  /** The batch processor every span goes through, workflow spans included (`forceFlush` sends what it holds). */
  processor: SpanProcessor;
  /** Sends the spans still queued and stops exporting. */
  shutdown(): Promise<void>;
}

/** The workflow interceptors of @temporalio/interceptors-opentelemetry, bundled into the workflow sandbox. */
const WORKFLOW_TRACING_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

let active: Tracing | undefined;

/** The process's tracing, when started. */
export function activeTracing(): Tracing | undefined {
  return active;
}

/**
 * Registers the process's tracer provider (W3C trace context, AsyncLocalStorage context), exporting
 * in batches to the configured OTLP/HTTP endpoint as JSON. Returns undefined, and installs nothing,
 * when tracing is not configured.
 */
export function startTracing(settings: AppConfig['tracing']): Tracing | undefined {
  if (!settings) return undefined;
  if (active) throw new Error('tracing has already been started in this process');
  // Export failures (a collector that is down) reach the log instead of vanishing.
  diag.setLogger(
    { error: (message) => log.error(message), warn: (message) => log.warn(message), info: () => undefined, debug: () => undefined, verbose: () => undefined },
    DiagLogLevel.WARN,
  );
  const resource = Resource.default().merge(new Resource({ [ATTR_SERVICE_NAME]: settings.serviceName }));
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.tracesUrl }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  active = { resource, processor, shutdown: () => provider.shutdown() };
  return active;
}

/** The Temporal client's interceptors: with tracing, a workflow start carries the caller's trace to the workflow. */
export function temporalClientInterceptors(): ClientInterceptors {
  return active ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : {};
}

/** What a worker adds for tracing: spans around activities, and for workflow workers the sandbox's interceptors and their span sink. */
export interface WorkerTracing {
  activity: ActivityInterceptorsFactory;
  workflowModules: string[];
  sinks: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;
}

export function workerTracing(): WorkerTracing | undefined {
  if (!active) return undefined;
  return {
    activity: (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    workflowModules: [WORKFLOW_TRACING_MODULE],
    sinks: { exporter: makeWorkflowExporter(active.processor, active.resource) },
  };
}
