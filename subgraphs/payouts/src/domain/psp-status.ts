// The PSP's payout statuses mapped onto ours. The PSP is authoritative once it has the payout.
import type { PspPayoutStatus } from '@clearhouse/shared';
import type { PayoutStatus } from './payout-status.js';

export function payoutStatusFromPsp(status: PspPayoutStatus): PayoutStatus {
  switch (status) {
    case 'pending':
    case 'in_transit':
      return 'PROCESSING';
    case 'paid':
      return 'PAID';
    case 'failed':
    case 'canceled':
      // A payout the PSP canceled never reached the seller: for us it failed (funds released).
      return 'FAILED';
  }
}
