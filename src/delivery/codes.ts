/**
 * Warning codes of the delivery layer, beside the shared ones in `internal/errors.ts`
 * (`TW_EXPORT_FAILED` for an unreachable agent is there). Documented in docs/errors.md.
 */
export const DeliveryCodes = {
  /** The agent's host name does not resolve: a configuration error, not an outage. */
  AGENT_HOST_UNKNOWN: 'TW_AGENT_HOST_UNKNOWN',
  /** The agent refused a payload as malformed (400 and other 4xx); it went to the rejected file. */
  EXPORT_REJECTED: 'TW_EXPORT_REJECTED',
  /** The dead-letter folder cannot be written (permissions, read-only, disk full). */
  DLQ_UNWRITABLE: 'TW_DLQ_UNWRITABLE',
  /** The dead-letter folder reached its size limit: the oldest payloads were evicted or new ones dropped. */
  DLQ_FULL: 'TW_DLQ_FULL',
  /** A dead-letter file had damaged records (a write torn by a crash); they were skipped. */
  DLQ_DAMAGED: 'TW_DLQ_DAMAGED',
  /** A dead-letter folder or file failed a safety check (a link, another user's, writable by others): not used. */
  DLQ_UNSAFE: 'TW_DLQ_UNSAFE',
} as const;
