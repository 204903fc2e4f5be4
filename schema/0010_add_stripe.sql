-- 0010: Stripe as the card processor (issue 9, items 1-6): the processor's
-- name and, while a payment is pending, the PaymentMethod reference it was
-- charged with (so that the sweep can repeat the charge under its
-- Idempotency-Key and learn the outcome of one whose answer was lost);
-- 3-D Secure (202 requires_action); Stripe's webhook events.

-- The processor's PaymentMethod reference (pm_...: a reference, never card
-- data), kept only while the payment is pending and cleared when it settles.
alter table registrar.payments
    add column pending_method_ref text check (char_length(pending_method_ref) <= 255);

-- One place forgets it, whichever function settles the payment.
create function registrar.payments_forget_method() returns trigger
language plpgsql as $$
begin
    if new.status <> 'pending' then
        new.pending_method_ref := null;
    end if;
    return new;
end $$;
create trigger payments_forget_method before update of status on registrar.payments
    for each row when (new.status <> 'pending' and new.pending_method_ref is not null)
    execute function registrar.payments_forget_method();

-- After payment_begin answered 'charge': which processor the payment goes
-- to, and (for a processor that can be asked later) the reference to repeat
-- the charge with.
create function registrar.payment_note(p_payment uuid, p_processor text, p_method_ref text)
returns void
language sql as $$
    update registrar.payments set processor = p_processor, pending_method_ref = p_method_ref
    where id = p_payment and status = 'pending'
$$;

-- The card holder must authenticate (3-D Secure): the payment stays pending
-- with the PaymentIntent as its reference, and the answer, 202
-- {payment: {id, status: requires_action, client_secret}}, is stored as the
-- key's response (a repeat gets it again) until the webhook or the sweep
-- settles the payment (payment_settle replaces it with the final answer).
-- Returns {status, body}.
--
-- Locking: the payment row, then the key row.
create function registrar.payment_requires_action(p_user uuid, p_payment uuid,
    p_processor_ref text, p_client_secret text) returns json
language plpgsql as $$
declare
    p registrar.payments;
    v_body text;
begin
    select * into p from registrar.payments where id = p_payment and user_id = p_user for update;
    if p.id is null or p.status <> 'pending' then
        return null;
    end if;
    update registrar.payments set processor_ref = p_processor_ref, updated_at = now()
    where id = p.id returning * into p;
    v_body := jsonb_build_object('payment',
        registrar.payment_json(p) || jsonb_build_object('status', 'requires_action',
                                                        'client_secret', p_client_secret))::text;
    update registrar.idempotency_keys set response_status = 202, response_body = v_body, locked_at = null
    where payment_id = p.id and response_status is null;
    return json_build_object('status', 202, 'body', v_body);
end $$;

-- Settles a pending payment from outside its request (the webhook, the
-- sweep): the outcome ('succeeded', 'declined') as payment_finish records
-- it, the key's stored 202 (if any) replaced by the final answer, the
-- PaymentMethod reference dropped (the trigger). True if the payment was pending.
--
-- Locking: the payment row, then as payment_finish.
create function registrar.payment_settle(p_payment uuid, p_outcome text, p_processor_ref text,
    p_problem text) returns boolean
language plpgsql as $$
declare
    p registrar.payments;
begin
    select * into p from registrar.payments where id = p_payment for update;
    if p.id is null or p.status <> 'pending' then
        return false;
    end if;
    update registrar.idempotency_keys set response_status = null, response_body = null
    where payment_id = p.id and response_status = 202;
    perform registrar.payment_finish(p.user_id, p.id, p_outcome,
        coalesce(p_processor_ref, p.processor_ref), p_problem);
    return true;
end $$;

-- Pending payments of processors that can be asked (not 'test', whose
-- answers are immediate) that nobody has touched for 30 seconds: the
-- request that charged them lost its answer (timeout, 5xx, a crash) or the
-- card holder has not finished authenticating. Each one returned is marked
-- touched, so that the next sweep asks again only 30 seconds later.
-- SKIP LOCKED: two processes' sweeps never ask about the same payment at once.
create function registrar.payments_unsettled(p_limit integer) returns json
language sql as $$
    with due as (
        select id from registrar.payments
        where status = 'pending' and processor <> 'test'
          and updated_at < now() - interval '30 seconds'
        order by updated_at
        limit p_limit
        for update skip locked
    ), touched as (
        update registrar.payments p set updated_at = now()
        from due where p.id = due.id
        returning p.*
    )
    select coalesce(json_agg(json_build_object('payment_id', t.id, 'enrollment_id', t.enrollment_id,
        'amount_cents', t.amount_cents, 'currency', t.currency, 'processor_ref', t.processor_ref,
        'method_ref', t.pending_method_ref)), '[]'::json)
    from touched t
$$;

-- What the sweep learned of a pending payment it asked about: a reference
-- it did not know yet (the PaymentIntent of a charge whose answer was lost).
create function registrar.payment_note_ref(p_payment uuid, p_processor_ref text) returns void
language sql as $$
    update registrar.payments set processor_ref = coalesce(processor_ref, p_processor_ref)
    where id = p_payment and status = 'pending'
$$;

-- The problem stored for a payment the processor declined after the fact.
create function registrar.payment_declined_problem(p_words text) returns text
language sql immutable as $$
    select json_build_object('type', 'https://registrar.invalid/problems/payment-declined',
        'title', 'Payment declined', 'status', 402,
        'detail', 'The card was declined: ' || coalesce(p_words, 'the card''s bank declined it')
                  || '. No money was taken.')::text
$$;

-- Stripe's events (API 2024-06-20), after the Stripe-Signature checked out.
-- The event id's row decides: a repeat changes nothing and says so.
--   payment_intent.succeeded / payment_intent.payment_failed: data.object
--     is the PaymentIntent; its metadata.payment_id (or its id) names our
--     payment; a pending one is settled. Money Stripe took for a payment we
--     had already given up (settled as declined: its registration expired
--     or was cancelled while Stripe did not answer) is not kept quietly: an
--     audit row and a message to every admin ask for a refund.
--   charge.refunded: data.object is the Charge; amount_refunded (of its
--     payment_intent) is recorded, never beyond the amount paid.
--   charge.dispute.created: data.object is the Dispute; an audit row and a
--     message through the outbox to every admin.
-- Others are recorded and ignored.
create function registrar.stripe_webhook(p_event_id text, p_type text, p_payload jsonb) returns json
language plpgsql as $$
declare
    v_obj jsonb := coalesce(p_payload->'data'->'object', '{}'::jsonb);
    p registrar.payments;
    v_applied boolean := false;
    v_inserted text;
    v_amount integer;
    v_pid text;
    v_offering uuid;
begin
    insert into registrar.webhook_events (id, type, payload, applied)
    values (p_event_id, p_type, p_payload, false)
    on conflict (id) do nothing
    returning id into v_inserted;
    if v_inserted is null then
        return json_build_object('received', true, 'duplicate', true);
    end if;

    if p_type in ('payment_intent.succeeded', 'payment_intent.payment_failed') then
        v_pid := v_obj->'metadata'->>'payment_id';
        if v_pid ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
            select * into p from registrar.payments where id = v_pid::uuid;
        end if;
        if p.id is null and v_obj->>'id' is not null then
            select * into p from registrar.payments where processor_ref = v_obj->>'id';
        end if;
        if p.id is not null then
            v_applied := registrar.payment_settle(p.id,
                case when p_type = 'payment_intent.succeeded' then 'succeeded' else 'declined' end,
                v_obj->>'id',
                registrar.payment_declined_problem(v_obj->'last_payment_error'->>'decline_code'));
            if not v_applied and p_type = 'payment_intent.succeeded' and p.status = 'declined' then
                select e.offering_id into v_offering from registrar.enrollments e where e.id = p.enrollment_id;
                insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
                values (null, 'payment.unmatched', 'payment:' || p.id,
                        jsonb_build_object('event_id', p_event_id, 'payment_intent', v_obj->>'id',
                            'amount_cents', v_obj->'amount'),
                        v_offering);
                insert into registrar.outbox (recipient, subject, body)
                select u.email, 'A card payment to refund',
                       'Stripe took a payment (PaymentIntent ' || left(coalesce(v_obj->>'id', '?'), 100)
                       || ') for a registration that was no longer payable when Stripe answered, so '
                       || 'the registrar did not count it. Refund it in the Stripe Dashboard.'
                       || E'\n\nOur payment: ' || p.id || E'\nRegistration: '
                       || registrar.public_url() || '/#/registrations/' || p.enrollment_id
                from registrar.users u where u.is_admin;
                v_applied := true;
            end if;
        end if;
    elsif p_type = 'charge.refunded' and v_obj->>'payment_intent' is not null then
        select * into p from registrar.payments
        where processor_ref = v_obj->>'payment_intent' and status in ('succeeded', 'refunded') for update;
        if p.id is not null and jsonb_typeof(v_obj->'amount_refunded') = 'number' then
            v_amount := least(p.amount_cents,
                greatest(p.refunded_cents, (v_obj->>'amount_refunded')::numeric::integer));
            update registrar.payments set status = 'refunded', refunded_cents = v_amount,
                refund_status = 'succeeded', updated_at = now()
            where id = p.id;
            insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
            select null, 'payment.refund', 'payment:' || p.id,
                   jsonb_build_object('refund_cents', v_amount, 'via', 'webhook', 'event_id', p_event_id),
                   e.offering_id
            from registrar.enrollments e where e.id = p.enrollment_id;
            v_applied := true;
        end if;
    elsif p_type = 'charge.dispute.created' then
        if v_obj->>'payment_intent' is not null then
            select * into p from registrar.payments where processor_ref = v_obj->>'payment_intent';
        end if;
        select e.offering_id into v_offering from registrar.enrollments e where e.id = p.enrollment_id;
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (null, 'payment.dispute',
                coalesce('payment:' || p.id, 'stripe:' || left(coalesce(v_obj->>'id', p_event_id), 150)),
                jsonb_build_object('event_id', p_event_id, 'dispute_id', v_obj->>'id',
                    'amount_cents', v_obj->'amount', 'reason', left(v_obj->>'reason', 100),
                    'payment_intent', v_obj->>'payment_intent'),
                v_offering);
        insert into registrar.outbox (recipient, subject, body)
        select u.email, 'A card payment is disputed',
               'A card holder disputed a payment with their bank (Stripe dispute '
               || left(coalesce(v_obj->>'id', '?'), 100) || ', reason: '
               || left(coalesce(v_obj->>'reason', 'not given'), 100) || ', amount: '
               || coalesce(to_char((v_obj->>'amount')::numeric / 100, 'FM999999990.00'), '?') || ' '
               || upper(left(coalesce(v_obj->>'currency', ''), 3)) || ').'
               || case when p.id is not null
                       then E'\n\nOur payment: ' || p.id || E'\nRegistration: '
                            || registrar.public_url() || '/#/registrations/' || p.enrollment_id
                       else E'\n\nNo payment of ours has this PaymentIntent.' end
               || E'\n\nAnswer it in the Stripe Dashboard before its deadline.'
        from registrar.users u where u.is_admin;
        v_applied := true;
    end if;
    update registrar.webhook_events set applied = v_applied where id = p_event_id;
    return json_build_object('received', true, 'duplicate', false, 'applied', v_applied);
end $$;

-- POST /api/v1/payments/webhook, after the processor's signature checked
-- out: the configured processor's events (the test processor's as in 0004).
create function registrar.processor_webhook(p_processor text, p_event_id text, p_type text,
    p_payload jsonb) returns json
language sql as $$
    select case when p_processor = 'stripe' then registrar.stripe_webhook(p_event_id, p_type, p_payload)
                else registrar.payment_webhook(p_event_id, p_type, p_payload) end
$$;
