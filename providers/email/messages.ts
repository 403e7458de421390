/**
 * The platform's mails in the recipient's language (users.locale: Korean or English), each as plain
 * text and as simple HTML with the same words. Everything put into the HTML is escaped; links are
 * made by the caller from the web app's address.
 */

export type MailLocale = 'ko' | 'en';

/** users.locale as a mail language: Korean for `ko…`, English otherwise. */
export function mailLocale(locale: string | null | undefined): MailLocale {
  return locale?.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** One paragraph, or a labelled line (`label: value`) that stays one line in both forms. */
type Block = { p: string } | { field: string; value: string };

interface MailParts {
  subject: string;
  greeting: string;
  blocks: Block[];
  action?: { label: string; url: string };
  footer: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function render(parts: MailParts): RenderedMail {
  const lines = [parts.greeting, ''];
  for (const block of parts.blocks) lines.push('p' in block ? block.p : `${block.field}: ${block.value}`, '');
  if (parts.action) lines.push(`${parts.action.label}:`, parts.action.url, '');
  lines.push('--', parts.footer);

  const body = parts.blocks
    .map((block) => ('p' in block ? `<p>${escapeHtml(block.p)}</p>` : `<p><strong>${escapeHtml(block.field)}:</strong> ${escapeHtml(block.value)}</p>`))
    .join('\n');
  const action = parts.action
    ? `<p><a href="${escapeHtml(parts.action.url)}" style="display:inline-block;padding:10px 18px;background:#0f766e;color:#ffffff;text-decoration:none;border-radius:6px">${escapeHtml(parts.action.label)}</a></p>\n<p style="color:#59636e;font-size:13px">${escapeHtml(parts.action.url)}</p>`
    : '';
  const html = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(parts.subject)}</title></head>`,
    '<body style="margin:0;padding:24px;background:#f6f8fa;font:15px/1.5 system-ui,-apple-system,\'Segoe UI\',\'Noto Sans\',\'Noto Sans CJK KR\',sans-serif;color:#1f2328">',
    '<div style="max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #d1d9e0;border-radius:10px;padding:24px">',
    `<p>${escapeHtml(parts.greeting)}</p>`,
    body,
    action,
    `<p style="color:#59636e;font-size:13px;border-top:1px solid #d1d9e0;padding-top:12px">${escapeHtml(parts.footer)}</p>`,
    '</div></body></html>',
  ]
    .filter(Boolean)
    .join('\n');
  // A title may hold line breaks: a header holds none.
  return { subject: parts.subject.replace(/\s+/g, ' ').trim(), text: lines.join('\n'), html };
}

/** A duration as the mail says it: minutes below two hours, else hours. */
function span(seconds: number, locale: MailLocale): string {
  if (seconds < 7200) {
    const minutes = Math.max(1, Math.round(seconds / 60));
    return locale === 'ko' ? `${minutes}분` : `${minutes} minute${minutes === 1 ? '' : 's'}`;
  }
  const hours = Math.round(seconds / 3600);
  return locale === 'ko' ? `${hours}시간` : `${hours} hours`;
}

const greeting = (name: string, locale: MailLocale) => (locale === 'ko' ? `${name}님, 안녕하세요.` : `Hello ${name},`);

const ACCOUNT_FOOTER: Record<MailLocale, string> = {
  ko: 'AutoClip 계정에 관한 메일입니다. 요청하지 않으셨다면 이 메일을 무시하세요.',
  en: 'This mail is about your AutoClip account. If you did not ask for it, ignore it.',
};

function notificationFooter(settingsUrl: string, locale: MailLocale): string {
  return locale === 'ko' ? `받을 알림 메일은 ${settingsUrl} 에서 바꿀 수 있습니다.` : `Choose which notification mails you get at ${settingsUrl}`;
}

export function verifyEmailMail(input: { name: string; link: string; ttlSec: number }, locale: MailLocale): RenderedMail {
  const ko = locale === 'ko';
  return render({
    subject: ko ? 'AutoClip 이메일 주소를 확인해 주세요' : 'Confirm your AutoClip email address',
    greeting: greeting(input.name, locale),
    blocks: [
      {
        p: ko
          ? `아래 링크를 열어 이 주소가 본인의 것임을 확인해 주세요. 링크는 ${span(input.ttlSec, locale)} 동안 한 번만 쓸 수 있습니다.`
          : `Open the link below to confirm that this address is yours. It works once, for ${span(input.ttlSec, locale)}.`,
      },
    ],
    action: { label: ko ? '이메일 확인' : 'Confirm my email', url: input.link },
    footer: ACCOUNT_FOOTER[locale],
  });
}

export function passwordResetMail(input: { name: string; link: string; ttlSec: number }, locale: MailLocale): RenderedMail {
  const ko = locale === 'ko';
  return render({
    subject: ko ? 'AutoClip 비밀번호 재설정' : 'Reset your AutoClip password',
    greeting: greeting(input.name, locale),
    blocks: [
      {
        p: ko
          ? `비밀번호 재설정 요청을 받았습니다. 아래 링크에서 새 비밀번호를 정하세요. 링크는 ${span(input.ttlSec, locale)} 동안 한 번만 쓸 수 있고, 재설정하면 모든 기기에서 로그아웃됩니다.`
          : `We were asked to reset your password. Choose a new one through the link below. It works once, for ${span(input.ttlSec, locale)}; resetting signs you out on every device.`,
      },
    ],
    action: { label: ko ? '새 비밀번호 정하기' : 'Choose a new password', url: input.link },
    footer: ACCOUNT_FOOTER[locale],
  });
}

/** The answer to a reset asked for an account that signs in only through a provider (Google, Kakao…). */
export function passwordResetUseProviderMail(input: { name: string; provider: string; signInUrl: string }, locale: MailLocale): RenderedMail {
  const ko = locale === 'ko';
  return render({
    subject: ko ? 'AutoClip 로그인 방법 안내' : 'How you sign in to AutoClip',
    greeting: greeting(input.name, locale),
    blocks: [
      {
        p: ko
          ? `비밀번호 재설정 요청을 받았지만, 이 계정은 비밀번호 없이 ${input.provider} 계정으로 로그인합니다. ${input.provider}(으)로 로그인해 주세요.`
          : `We were asked to reset your password, but this account has none: it signs in with ${input.provider}. Sign in with ${input.provider} instead.`,
      },
    ],
    action: { label: ko ? '로그인' : 'Sign in', url: input.signInUrl },
    footer: ACCOUNT_FOOTER[locale],
  });
}

export interface ContentMailInput {
  name: string;
  title: string;
  projectName: string;
  contentUrl: string;
  settingsUrl: string;
}

export function contentReadyMail(input: ContentMailInput, locale: MailLocale): RenderedMail {
  const ko = locale === 'ko';
  return render({
    subject: ko ? `영상이 준비되었습니다: ${input.title}` : `Your video is ready: ${input.title}`,
    greeting: greeting(input.name, locale),
    blocks: [
      { p: ko ? '영상 제작이 끝났습니다. 확인하고 게시하거나 승인해 주세요.' : 'The video has been produced. Watch it, then publish or approve it.' },
      { field: ko ? '콘텐츠' : 'Content', value: input.title },
      { field: ko ? '프로젝트' : 'Project', value: input.projectName },
    ],
    action: { label: ko ? '영상 보기' : 'Open the video', url: input.contentUrl },
    footer: notificationFooter(input.settingsUrl, locale),
  });
}

export function contentFailedMail(input: ContentMailInput & { error: string | null }, locale: MailLocale): RenderedMail {
  const ko = locale === 'ko';
  return render({
    subject: ko ? `영상 제작 실패: ${input.title}` : `Your video could not be made: ${input.title}`,
    greeting: greeting(input.name, locale),
    blocks: [
      { p: ko ? '영상 제작이 실패했습니다. 원인을 확인한 뒤 다시 시도할 수 있습니다.' : 'The production failed. See why, then try it again.' },
      { field: ko ? '콘텐츠' : 'Content', value: input.title },
      { field: ko ? '프로젝트' : 'Project', value: input.projectName },
      ...(input.error ? [{ field: ko ? '원인' : 'Reason', value: input.error }] : []),
    ],
    action: { label: ko ? '콘텐츠 보기' : 'Open the content', url: input.contentUrl },
    footer: notificationFooter(input.settingsUrl, locale),
  });
}

export function contentPublishedMail(input: ContentMailInput & { platform: string; url: string | null }, locale: MailLocale): RenderedMail {
  const ko = locale === 'ko';
  return render({
    subject: ko ? `${input.platform}에 게시되었습니다: ${input.title}` : `Published on ${input.platform}: ${input.title}`,
    greeting: greeting(input.name, locale),
    blocks: [
      { p: ko ? `영상이 ${input.platform}에 게시되었습니다.` : `The video is live on ${input.platform}.` },
      { field: ko ? '콘텐츠' : 'Content', value: input.title },
      { field: ko ? '프로젝트' : 'Project', value: input.projectName },
      ...(input.url ? [{ field: ko ? '게시물' : 'Post', value: input.url }] : []),
    ],
    action: { label: ko ? '콘텐츠 보기' : 'Open the content', url: input.contentUrl },
    footer: notificationFooter(input.settingsUrl, locale),
  });
}

export function webhookDisabledMail(
  input: { name: string; endpoint: string; reason: string; endpointUrl: string; settingsUrl: string },
  locale: MailLocale,
): RenderedMail {
  const ko = locale === 'ko';
  return render({
    subject: ko ? `웹훅 엔드포인트가 비활성화되었습니다: ${input.endpoint}` : `A webhook endpoint was disabled: ${input.endpoint}`,
    greeting: greeting(input.name, locale),
    blocks: [
      {
        p: ko
          ? '전송이 계속 실패하여 웹훅 엔드포인트를 비활성화했습니다. 수신 서버를 고친 뒤 엔드포인트를 다시 활성화하고 실패한 전송을 다시 보낼 수 있습니다.'
          : 'Deliveries to this webhook endpoint kept failing, so it was disabled. Fix the receiver, then enable the endpoint again and redeliver what failed.',
      },
      { field: ko ? '엔드포인트' : 'Endpoint', value: input.endpoint },
      { field: ko ? '원인' : 'Reason', value: input.reason },
    ],
    action: { label: ko ? '엔드포인트 보기' : 'Open the endpoint', url: input.endpointUrl },
    footer: notificationFooter(input.settingsUrl, locale),
  });
}
