/**
 * Publishing calendars: a channel publishes at a local time of day ("09:00") in its time zone.
 * Time-zone arithmetic uses Intl only (no zone database in the project).
 */

function zoneOffsetMs(instant: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/** The UTC instant at which the wall clock of `timeZone` shows the given local date and time. */
function zonedInstant(year: number, monthIndex: number, day: number, hour: number, minute: number, timeZone: string): Date {
  const wall = Date.UTC(year, monthIndex, day, hour, minute);
  let guess = wall - zoneOffsetMs(new Date(wall), timeZone);
  // A second pass settles instants near an offset change (daylight saving).
  guess = wall - zoneOffsetMs(new Date(guess), timeZone);
  return new Date(guess);
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** The first moment after `now` at which it is `time` ("HH:MM") in `timeZone`. */
export function nextLocalTime(now: Date, time: string, timeZone: string): Date {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
  if (!match) throw new Error(`schedule time "${time}" is not HH:MM`);
  if (!isValidTimeZone(timeZone)) throw new Error(`unknown time zone "${timeZone}"`);
  const local = new Date(now.getTime() + zoneOffsetMs(now, timeZone));
  for (let addDays = 0; addDays <= 2; addDays++) {
    const candidate = zonedInstant(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + addDays, Number(match[1]), Number(match[2]), timeZone);
    if (candidate.getTime() > now.getTime()) return candidate;
  }
  throw new Error('unreachable: a local time recurs within two days');
}
