// Names of the persisted job kinds (see jobs.ts); handlers are registered in server.ts.
export const jobKinds = {
  webhook: 'webhook',
  paymentProcessingComplete: 'payment_processing_complete',
  refundSettle: 'refund_settle',
  payoutAdvance: 'payout_advance',
  disputeCreate: 'dispute_create',
  sessionExpire: 'session_expire',
} as const;
