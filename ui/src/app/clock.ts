/** Times as the UI shows them (local time); small, as the live page loads it at once. */
const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** "07:00" of epoch seconds `ts`. */
export function hhmm(ts: number): string {
  const d = new Date(ts * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** "07:00", or "Mon 07:00" when not on the day of `nowMs` (local time). */
export function clockText(ts: number, nowMs: number): string {
  const time = hhmm(ts);
  return new Date(ts * 1000).toDateString() === new Date(nowMs).toDateString()
    ? time
    : `${DAY_NAMES[new Date(ts * 1000).getDay()]} ${time}`;
}
