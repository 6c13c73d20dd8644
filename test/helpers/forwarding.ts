// Forwarding settings of the tests that run against the reference receiver: small batches that
// go at once, and short retries, so a test sees each document at the receiver within moments.
export const quickForwarding = (url: string): Record<string, string> => ({
  OFD_FORWARD_URL: url,
  OFD_FORWARD_BATCH: '50',
  OFD_FORWARD_LINGER_MS: '50',
  OFD_FORWARD_POLL_MS: '50',
  OFD_FORWARD_RETRIES: '1',
  OFD_FORWARD_RETRY_BASE_MS: '50',
  OFD_FORWARD_RETRY_MAX_MS: '500',
});
