/**
 * Every sentinel value of the suite starts with this, so one check ("no view contains SENTINEL")
 * covers the sentinels of every file: no response, log line or error may ever contain it.
 */
export const SENTINEL = 'S3NT1NEL';
