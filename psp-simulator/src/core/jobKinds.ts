// Names of the persisted job kinds (see jobs.ts); handlers are registered in server.ts.
export const jobKinds = {
  webhook: 'webhook',
  paymentProcessingComplete: 'payment_processing_complete',
  refundSettle: 'refund_settle',
  refundFail: 'refund_fail',
  payoutAdvance: 'payout_advance',
  disputeCreate: 'dispute_create',
  sessionExpire: 'session_expire',
} as const;
