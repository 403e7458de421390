import { waitFor } from './wait';

/**
 * The test stack's Mailpit through its HTTP API (MAILPIT_URL): the mails the platform sent to its
 * SMTP_URL, looked up by recipient so that tests running side by side, each with its own
 * addresses, never read each other's mail.
 */
export interface Mail {
  id: string;
  subject: string;
  to: string[];
  from: string;
  text: string;
  html: string;
}

interface Summary {
  ID: string;
  To: { Address: string }[] | null;
}

function mailpitUrl(): string {
  const url = process.env.MAILPIT_URL;
  if (!url) throw new Error('MAILPIT_URL is not set: load the test stack environment (.autoclip/test/stack.env) or run through `npm test`');
  return url;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${mailpitUrl()}${path}`);
  if (!res.ok) throw new Error(`Mailpit answered ${res.status} to GET ${path}`);
  return (await res.json()) as T;
}

/** Every mail to `address` (oldest first), each with its text and HTML. */
export async function mailsTo(address: string): Promise<Mail[]> {
  const found = await getJson<{ messages: Summary[] }>(`/api/v1/search?query=${encodeURIComponent(`to:"${address}"`)}&limit=200`);
  const ids = found.messages.filter((m) => (m.To ?? []).some((to) => to.Address.toLowerCase() === address.toLowerCase())).map((m) => m.ID);
  const mails = await Promise.all(
    ids.map(async (id) => {
      const m = await getJson<{ ID: string; Subject: string; To: { Address: string }[]; From: { Address: string }; Text: string; HTML: string }>(`/api/v1/message/${id}`);
      return { id: m.ID, subject: m.Subject, to: m.To.map((t) => t.Address), from: m.From.Address, text: m.Text, html: m.HTML };
    }),
  );
  return mails.reverse();
}

/** Waits for the `count`-th mail to `address` (and any before it) that `matches`; returns those mails. */
export async function waitForMails(address: string, count = 1, matches: (mail: Mail) => boolean = () => true, timeoutMs = 60_000): Promise<Mail[]> {
  return waitFor(`${count} mail(s) to ${address}`, async () => {
    const mails = (await mailsTo(address)).filter(matches);
    return mails.length >= count ? mails : undefined;
  }, timeoutMs, 200);
}

/** The token of the link to `path` in a mail's text (`<APP_PUBLIC_URL><path>#token=…`). */
export function linkToken(mail: Mail, appUrl: string, path: string): string {
  const escaped = `${appUrl}${path}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`${escaped}#token=([A-Za-z0-9_-]+)`).exec(mail.text);
  if (!match) throw new Error(`no ${path} link in the mail "${mail.subject}":\n${mail.text}`);
  return match[1]!;
}
