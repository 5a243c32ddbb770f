const EMAILS = /[^\s@<>()"',;:[\]]+@[^\s@<>()"',;:[\]]+/g;
// Phone-like runs: an optional +, then 7 or more digits possibly split by spaces, dots or dashes.
const PHONES = /\+?\d(?:[\s.-]?\d){6,}/g;
const MAX_LENGTH = 500;

/**
 * Error text from SMTP servers and SMS providers often quotes the recipient ("550 5.1.1
 * <jane@example.com>: user unknown"). Such text is logged, stored and put on the dead-letter
 * topic, so contact details are cut out first, and the length is bounded.
 */
export function scrubContactDetails(text: string): string {
  const scrubbed = text.replace(EMAILS, "[email]").replace(PHONES, "[phone]");
  return scrubbed.length > MAX_LENGTH ? `${scrubbed.slice(0, MAX_LENGTH)}…` : scrubbed;
}
