import { createTransport } from 'nodemailer';
import { ProviderError, type ProviderErrorCode } from '../errors';

/** One mail, written in the recipient's language, as plain text and simple HTML. */
export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface SmtpSettings {
  /** smtp://host:port or smtps://user:password@host:port. */
  smtpUrl: string;
  /** The sender, `Name <address>` or an address. */
  from: string;
  /** Connecting, the greeting and each reply may each take this long. */
  timeoutMs: number;
}

/** The fields nodemailer puts on its errors that say what failed (never the credentials). */
interface SmtpFailure {
  code?: string;
  /** The socket's own code behind an ESOCKET, e.g. ECONNREFUSED. */
  originalCode?: string;
  responseCode?: number;
  response?: string;
  permanent?: boolean;
}

/**
 * Sends mail to one SMTP server (nodemailer, a connection per message): Mailpit on a developer's
 * machine and in tests, the deployment's relay in production. Its failures are `ProviderError`s:
 * a permanent refusal (a 5xx reply, missing or wrong credentials) is not retryable, a connection
 * failure or a 4xx reply is. Nothing it throws or exposes carries the URL's credentials.
 */
export class SmtpMailer {
  /** The server as `smtp://host:port`, without credentials: safe to log. */
  readonly server: string;
  private readonly transport: ReturnType<typeof createTransport>;

  constructor(settings: SmtpSettings) {
    const url = new URL(settings.smtpUrl);
    this.server = `${url.protocol}//${url.host}`;
    this.transport = createTransport(
      { url: settings.smtpUrl, connectionTimeout: settings.timeoutMs, greetingTimeout: settings.timeoutMs, socketTimeout: settings.timeoutMs },
      { from: settings.from },
    );
  }

  /** Hands the message to the server; answers the Message-ID it was sent with. */
  async send(message: EmailMessage): Promise<{ messageId: string }> {
    try {
      const info = await this.transport.sendMail({ to: message.to, subject: message.subject, text: message.text, html: message.html });
      return { messageId: info.messageId };
    } catch (err) {
      throw this.failure(err as SmtpFailure);
    } finally {
      this.transport.close();
    }
  }

  private failure(err: SmtpFailure): ProviderError {
    const code: ProviderErrorCode =
      err.code === 'EAUTH' || err.code === 'ENOAUTH'
        ? 'unauthorized'
        : err.permanent === true || err.code === 'ECONFIG' || (err.code === 'EENVELOPE' && err.responseCode === undefined)
          ? 'bad_request'
          : err.responseCode === undefined
            ? 'network_error'
            : 'server_error';
    const reply = err.responseCode !== undefined ? `answered ${err.responseCode}${err.response ? `: ${err.response.slice(0, 300)}` : ''}` : `failed (${[err.code, err.originalCode].filter(Boolean).join(': ') || 'unknown error'})`;
    return new ProviderError('smtp', code, `the SMTP server ${this.server} ${reply}`, err.responseCode !== undefined ? { statusCode: err.responseCode } : {});
  }
}
