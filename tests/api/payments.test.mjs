// Payments with the built-in `test` processor: the shared cases of
// payments-cases.mjs (payments-stripe.test.mjs runs the same with Stripe).
import { paymentCases } from './payments-cases.mjs';

paymentCases({
  name: 'test',
  tokens: { visa: 'tok_test_visa', mastercard: 'tok_test_mastercard', declined: 'tok_test_declined', unknown: 'tok_test_amex' },
  ref: /^test_ch_[0-9a-f]{24}$/,
  refundRef: /^test_re_/,
  lostRef: 'test_ch_fromwebhook000000000000',
  header: 'registrar-signature',
  secret: (srv) => srv.webhookSecret,
  refundEvent: (ref, amountCents, id) => ({ id, type: 'payment.refunded', data: { processor_ref: ref, amount_cents: amountCents } }),
  succeededEvent: (paymentId, ref, id) => ({ id, type: 'payment.succeeded', data: { payment_id: paymentId, processor_ref: ref } }),
});
