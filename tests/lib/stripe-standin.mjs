// A stand-in for the part of Stripe's API that server/payments/stripe.c uses
// (API version 2024-06-20), on loopback, for the API tests and the payment
// benchmark. Not a mock of our server: a small Stripe of its own, which the
// real server talks to over HTTP.
//
//   import { startStripeStandin } from '../lib/stripe-standin.mjs';
//   const stripe = await startStripeStandin();     // { delayMs }
//   startServer({ env: stripe.serverEnv() });      // REGISTRAR_PAYMENT_PROCESSOR=stripe, keys, base URL
//   stripe.webhookTo(srv.url);                     // where sendEvent posts
//
// What it speaks:
//   - Authorization: Bearer <secret key>, else 401 (invalid_request_error).
//   - application/x-www-form-urlencoded bodies with nested keys
//     (metadata[payment_id]=..., payment_method_types[]=card).
//   - Idempotency-Key on POSTs: the same key with the same parameters replays
//     the first answer (status and body); with other parameters 400
//     idempotency_error; while the first is still running, 409.
//   - POST /v1/payment_intents (amount, currency, payment_method, confirm=true,
//     payment_method_types[], metadata) with the PaymentMethods
//       pm_card_visa, pm_card_mastercard                 succeed
//       pm_card_chargeDeclined                           402 card_error, generic_decline
//       pm_card_visa_chargeDeclinedInsufficientFunds     402 card_error, insufficient_funds
//       pm_card_authenticationRequired                   requires_action + client_secret
//       pm_standin_timeout   the intent succeeds but the answer never comes (the
//                            connection is held until stop()): a lost answer
//       pm_standin_500       500 api_error the first time for a key (nothing
//                            saved), succeeds when repeated: a passing outage
//     anything else: 400 resource_missing.
//   - GET /v1/payment_intents/{id}.
//   - POST /v1/refunds (payment_intent, amount): never beyond what is left.
//   - a configurable delay before every answer (delayMs, setDelay()).
//   - GET /_standin/stats (no key; not Stripe's): counts for the benchmark.
//   - signed webhooks: sendEvent(type, object) posts an Event with
//     Stripe-Signature t=...,v1=HMAC-SHA256(secret, t + "." + body);
//     completeAuthentication(pi, ok) finishes a 3-D Secure intent and sends
//     its event.
import http from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';

const rand = (n = 12) => randomBytes(n).toString('hex');

// Parses a form body into nested objects: a[b]=1 -> {a: {b: '1'}}, a[]=x -> {a: ['x']}.
export function parseForm(text) {
  const out = {};
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(name);
    if (!m) throw new Error(`bad key ${name}`);
    const keys = [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1])];
    let node = out;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const last = i === keys.length - 1;
      if (k === '') {
        if (!Array.isArray(node)) throw new Error(`bad key ${name}`);
        if (last) node.push(value);
        else { const child = {}; node.push(child); node = child; }
        continue;
      }
      if (last) { node[k] = value; break; }
      const nextIsArray = keys[i + 1] === '';
      if (node[k] === undefined) node[k] = nextIsArray ? [] : {};
      node = node[k];
    }
  }
  return out;
}

// A canonical text of parameters, to compare two requests under one key.
const canonical = (v) => (v !== null && typeof v === 'object'
  ? (Array.isArray(v) ? `[${v.map(canonical).join(',')}]`
    : `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`)
  : JSON.stringify(v));

const invalid = (message, extra = {}) => ({ status: 400, body: { error: { type: 'invalid_request_error', message, ...extra } } });

export async function startStripeStandin({ delayMs = 0, secretKey = `sk_test_${rand()}`,
  publishableKey = `pk_test_${rand()}`, webhookSecret = `whsec_${rand(16)}` } = {}) {
  const intents = new Map();   // id -> PaymentIntent
  const refunds = new Map();   // id -> Refund
  const idempotency = new Map(); // key -> { params, status, body } | { params, running: true }
  const failedOnce = new Set(); // keys whose first pm_standin_500 attempt failed
  const held = new Set();      // responses held open (pm_standin_timeout)
  const calls = [];            // { method, path, idempotencyKey, params, status }
  let delay = delayMs;
  let webhookUrl = null;

  const intentJson = (pi) => structuredClone(pi);

  function createIntent(p) {
    const amount = Number(p.amount);
    if (!/^[1-9][0-9]*$/.test(String(p.amount ?? ''))) return invalid('Invalid integer: amount', { param: 'amount' });
    if (!/^[a-z]{3}$/.test(String(p.currency ?? ''))) return invalid('Invalid currency', { param: 'currency' });
    if (p.confirm !== 'true') return invalid('This stand-in confirms on creation only', { param: 'confirm' });
    const types = p.payment_method_types;
    if (!Array.isArray(types) || types.join(',') !== 'card') return invalid('payment_method_types must be [card]', { param: 'payment_method_types' });
    const pm = p.payment_method;
    const known = ['pm_card_visa', 'pm_card_mastercard', 'pm_card_chargeDeclined', 'pm_card_visa_chargeDeclinedInsufficientFunds',
      'pm_card_authenticationRequired', 'pm_standin_timeout', 'pm_standin_500'];
    if (!known.includes(pm)) {
      return invalid(`No such PaymentMethod: '${String(pm).slice(0, 40)}'`, { code: 'resource_missing', param: 'payment_method' });
    }
    const id = `pi_${rand()}`;
    const pi = {
      id, object: 'payment_intent', amount, amount_received: 0, currency: p.currency,
      client_secret: `${id}_secret_${rand(8)}`, confirmation_method: 'automatic', created: Math.floor(Date.now() / 1000),
      latest_charge: null, last_payment_error: null, livemode: false, metadata: p.metadata ?? {}, next_action: null,
      payment_method: pm, payment_method_types: types, status: 'requires_confirmation',
    };
    intents.set(id, pi);
    if (pm === 'pm_card_chargeDeclined' || pm === 'pm_card_visa_chargeDeclinedInsufficientFunds') {
      const decline = pm === 'pm_card_chargeDeclined' ? 'generic_decline' : 'insufficient_funds';
      pi.status = 'requires_payment_method';
      pi.latest_charge = `ch_${rand()}`;
      pi.last_payment_error = { type: 'card_error', code: 'card_declined', decline_code: decline, message: 'Your card was declined.' };
      return { status: 402, body: { error: { ...pi.last_payment_error, charge: pi.latest_charge, payment_intent: intentJson(pi) } } };
    }
    if (pm === 'pm_card_authenticationRequired') {
      pi.status = 'requires_action';
      pi.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: {} };
      return { status: 200, body: intentJson(pi) };
    }
    pi.status = 'succeeded';
    pi.amount_received = amount;
    pi.latest_charge = `ch_${rand()}`;
    return { status: 200, body: intentJson(pi), hold: pm === 'pm_standin_timeout' };
  }

  function createRefund(p) {
    const pi = intents.get(p.payment_intent);
    if (!pi) return invalid(`No such payment_intent: '${String(p.payment_intent).slice(0, 40)}'`, { code: 'resource_missing', param: 'payment_intent' });
    if (pi.status !== 'succeeded') return invalid('This PaymentIntent has no successful charge to refund.', { code: 'charge_not_refundable' });
    const left = pi.amount - (pi.amount_refunded ?? 0);
    const amount = p.amount === undefined ? left : Number(p.amount);
    if (!Number.isInteger(amount) || amount <= 0) return invalid('Invalid integer: amount', { param: 'amount' });
    if (amount > left) return invalid(`Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`, { code: 'amount_too_large', param: 'amount' });
    pi.amount_refunded = (pi.amount_refunded ?? 0) + amount;
    const re = { id: `re_${rand()}`, object: 'refund', amount, charge: pi.latest_charge, currency: pi.currency,
      payment_intent: pi.id, status: 'succeeded', created: Math.floor(Date.now() / 1000), metadata: {} };
    refunds.set(re.id, re);
    return { status: 200, body: re };
  }

  async function handle(req, res, raw) {
    const url = new URL(req.url, 'http://standin');
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${rand(7)}` });
      res.end(JSON.stringify(body));
    };
    const call = { method: req.method, path: url.pathname, idempotencyKey: req.headers['idempotency-key'] ?? null,
      stripeVersion: req.headers['stripe-version'] ?? null, params: null, status: null };
    if (req.method === 'GET' && url.pathname === '/_standin/stats') {
      // Not Stripe's: what the benchmark checks against the database.
      const all = [...intents.values()];
      return send(200, { intents: all.length, succeeded: all.filter((x) => x.status === 'succeeded').length,
        amount_succeeded: all.filter((x) => x.status === 'succeeded').reduce((a, x) => a + x.amount, 0),
        payment_ids: new Set(all.map((x) => x.metadata.payment_id)).size, calls: calls.length,
        replays: calls.filter((c) => c.replayed).length });
    }
    calls.push(call);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      call.status = 401;
      return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } });
    }
    let params = {};
    if (req.method === 'POST') {
      if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
        call.status = 400;
        return send(400, { error: { type: 'invalid_request_error', message: 'Bodies are form-encoded.' } });
      }
      try { params = parseForm(raw); } catch (e) {
        call.status = 400;
        return send(400, { error: { type: 'invalid_request_error', message: String(e.message) } });
      }
    }
    call.params = params;
    let route;
    if (req.method === 'POST' && url.pathname === '/v1/payment_intents') route = () => createIntent(params);
    else if (req.method === 'POST' && url.pathname === '/v1/refunds') route = () => createRefund(params);
    else if (req.method === 'GET' && /^\/v1\/payment_intents\/[A-Za-z0-9_]+$/.test(url.pathname)) {
      const pi = intents.get(url.pathname.split('/').pop());
      const r = pi ? { status: 200, body: intentJson(pi) }
        : { status: 404, body: { error: { type: 'invalid_request_error', code: 'resource_missing', message: 'No such payment_intent' } } };
      call.status = r.status;
      return send(r.status, r.body);
    } else {
      call.status = 404;
      return send(404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${url.pathname})` } });
    }

    const key = req.headers['idempotency-key'];
    const fp = `${url.pathname} ${canonical(params)}`;
    if (key) {
      const seen = idempotency.get(key);
      if (seen && seen.params !== fp) {
        call.status = 400;
        return send(400, { error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' } });
      }
      if (seen?.running) {
        call.status = 409;
        return send(409, { error: { type: 'idempotency_error', message: 'There is currently another in-progress request using this Idempotency-Key.' } });
      }
      if (seen) {
        call.status = seen.status;
        call.replayed = true;
        res.setHeader('idempotent-replayed', 'true');
        return send(seen.status, seen.body);
      }
      if (params.payment_method === 'pm_standin_500' && !failedOnce.has(key)) {
        failedOnce.add(key); // nothing executed, nothing saved: a repeat runs it
        call.status = 500;
        return send(500, { error: { type: 'api_error', message: 'An unknown error occurred (stand-in).' } });
      }
      idempotency.set(key, { params: fp, running: true });
    }
    const r = route();
    if (key) idempotency.set(key, { params: fp, status: r.status, body: r.body });
    call.status = r.status;
    if (r.hold) {
      // The work is done and saved; the answer is lost on the way.
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    send(r.status, r.body);
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((e) => {
        if (!res.headersSent) { res.writeHead(500); res.end(JSON.stringify({ error: { type: 'api_error', message: String(e) } })); }
      });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  function sign(body, t = Math.floor(Date.now() / 1000), secret = webhookSecret) {
    return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
  }

  // Posts a signed Event to the server; returns {status, body, event}.
  async function sendEvent(type, object, { id = `evt_${rand()}`, signature, to = webhookUrl } = {}) {
    const event = { id, object: 'event', api_version: '2024-06-20', created: Math.floor(Date.now() / 1000),
      data: { object }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type };
    const body = JSON.stringify(event);
    const r = await fetch(`${to}/api/v1/payments/webhook`, {
      method: 'POST', body, headers: { 'content-type': 'application/json', 'stripe-signature': signature ?? sign(body) },
    });
    const text = await r.text();
    let parsed = null;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, body: parsed, text, event, raw: body };
  }

  return {
    url, secretKey, publishableKey, webhookSecret, intents, refunds, calls, sign, sendEvent,
    serverEnv: (extra = {}) => ({
      REGISTRAR_PAYMENT_PROCESSOR: 'stripe',
      REGISTRAR_STRIPE_SECRET_KEY: secretKey,
      REGISTRAR_STRIPE_PUBLISHABLE_KEY: publishableKey,
      REGISTRAR_STRIPE_WEBHOOK_SECRET: webhookSecret,
      REGISTRAR_STRIPE_API_BASE: url,
      ...extra,
    }),
    webhookTo(serverUrl) { webhookUrl = serverUrl; },
    setDelay(ms) { delay = ms; },
    // The card holder finished (ok) or failed 3-D Secure: the intent moves on and its event is sent.
    async completeAuthentication(piId, ok = true) {
      const pi = intents.get(piId);
      if (!pi || pi.status !== 'requires_action') throw new Error(`${piId} does not wait for authentication`);
      pi.next_action = null;
      if (ok) {
        pi.status = 'succeeded';
        pi.amount_received = pi.amount;
        pi.latest_charge = `ch_${rand()}`;
      } else {
        pi.status = 'requires_payment_method';
        pi.last_payment_error = { type: 'card_error', code: 'payment_intent_authentication_failure', message: 'Authentication failed.' };
      }
      return sendEvent(ok ? 'payment_intent.succeeded' : 'payment_intent.payment_failed', intentJson(pi));
    },
    // The Charge object of an intent, as charge.refunded and charge.dispute.created carry it.
    charge(piId) {
      const pi = intents.get(piId);
      return { id: pi.latest_charge, object: 'charge', amount: pi.amount, amount_refunded: pi.amount_refunded ?? 0,
        currency: pi.currency, paid: true, payment_intent: pi.id, refunded: (pi.amount_refunded ?? 0) >= pi.amount,
        status: 'succeeded', metadata: pi.metadata };
    },
    async stop() {
      for (const res of held) res.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
