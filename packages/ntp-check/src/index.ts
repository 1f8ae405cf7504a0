/**
 * NTP time-skew guard.
 *
 * A strict SNTPv4 client (RFC 4330 / RFC 5905), falseticker rejection across
 * several servers, a skew guard and peer clock-offset estimation.
 *
 * @packageDocumentation
 */

export {};
