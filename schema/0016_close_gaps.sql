-- 0016: the gaps between the payment, billing and centre parts.
--
--   * a learner's card pays what a confirmed registration still owes (an
--     invoice's remaining amount, the difference after a transfer to a
--     dearer offering), settling an open invoice when it pays in full
--     (enrollments_settle_invoice, 0011).

-- ---------------------------------------------------------------------------
-- Paying what is still owed

-- Whether a registration may be charged now: held with time left on the
-- hold, or confirmed and still owing money. payment_begin applies the same
-- rules to a first request, and its takeover re-checks them.
create or replace function registrar.payment_payable(e registrar.enrollments) returns boolean
language sql stable as $$
    select (e.status = 'held' and e.hold_expires_at > now())
        or (e.status = 'confirmed' and e.amount_due_cents - e.paid_cents > 0)
$$;

-- As in 0009 (same contract, same idempotency and takeover, same locking:
-- the key row, then the payment row and the registration FOR UPDATE on a
-- takeover, or the registration FOR UPDATE for a first request), except
-- that a confirmed registration that still owes money can be paid: the
-- charge is exactly amount_due_cents - paid_cents, and payment_finish
-- leaves the registration confirmed and raises paid_cents (which settles an
-- open invoice once everything is paid). A confirmed registration that owes
-- nothing is still 409 already-paid.
create or replace function registrar.payment_begin(p_user uuid, p_enrollment uuid, p_key text, p_token text)
returns json
language plpgsql as $$
declare
    v_fp bytea := sha256(convert_to(p_enrollment::text || E'\n' || p_token, 'UTF8'));
    k registrar.idempotency_keys;
    e registrar.enrollments;
    p registrar.payments;
    v_tries integer := 0;
    v_settled json;
begin
    loop
        delete from registrar.idempotency_keys
        where user_id = p_user and key = p_key and expires_at <= now();
        insert into registrar.idempotency_keys (user_id, key, fingerprint, locked_at)
        values (p_user, p_key, v_fp, now())
        on conflict (user_id, key) do nothing
        returning * into k;
        exit when k.key is not null;

        select * into k from registrar.idempotency_keys where user_id = p_user and key = p_key;
        if k.key is null then
            continue; -- rolled back or expired meanwhile: try to own it
        end if;
        if k.fingerprint <> v_fp then
            perform registrar.raise_app('RG422', 'idempotency-key-reused',
                'This Idempotency-Key was used with another request; use a new key for a new payment.');
        end if;
        if k.response_status is not null then
            return json_build_object('action', 'replay', 'status', k.response_status, 'body', k.response_body);
        end if;
        if k.locked_at < now() - interval '1 minute' then
            update registrar.idempotency_keys set locked_at = now()
            where user_id = p_user and key = p_key and locked_at = k.locked_at and response_status is null
            returning * into k;
            if found then
                select * into p from registrar.payments where id = k.payment_id for update;
                if p.status = 'pending' then
                    -- The seat may have gone, or the debt been paid another
                    -- way, since the first request began: never charge for a
                    -- registration that is no longer payable.
                    select * into e from registrar.enrollments where id = p.enrollment_id for update;
                    if not registrar.payment_payable(e)
                       or (e.status = 'confirmed' and e.amount_due_cents - e.paid_cents < p.amount_cents) then
                        v_settled := registrar.payment_abandon(p.id, e);
                        return json_build_object('action', 'replay', 'status', v_settled->'status',
                            'body', v_settled->>'body');
                    end if;
                    update registrar.enrollments set payment_started_at = now() where id = p.enrollment_id;
                    return json_build_object('action', 'charge', 'payment_id', p.id,
                        'amount_cents', p.amount_cents, 'currency', p.currency);
                end if;
                return json_build_object('action', 'finish', 'payment_id', p.id, 'status', p.status);
            end if;
        end if;
        v_tries := v_tries + 1;
        if v_tries > 500 then
            perform registrar.raise_app('RG409', 'idempotency-key-in-use',
                'A request with this Idempotency-Key is still running; repeat it in a moment.');
        end if;
        perform pg_sleep(0.01);
    end loop;

    -- This request owns the key.
    select * into e from registrar.enrollments where id = p_enrollment and user_id = p_user for update;
    if e.id is null then
        perform registrar.raise_app('RG404', 'not-found', 'There is no such enrollment of yours.');
    end if;
    if e.status = 'confirmed' and e.amount_due_cents - e.paid_cents <= 0 then
        perform registrar.raise_app('RG409', 'already-paid', 'This registration is already confirmed.');
    end if;
    if e.status = 'expired' or (e.status = 'held' and e.hold_expires_at <= now()) then
        perform registrar.raise_app('RG409', 'hold-expired',
            'The seat was held for a limited time, and that time has run out. Register again to get a seat or a place on the waitlist.');
    end if;
    if not registrar.payment_payable(e) then
        perform registrar.raise_app('RG409', 'not-payable',
            format('A registration that is %s cannot be paid.', e.status), jsonb_build_object('status', e.status));
    end if;
    if exists (select 1 from registrar.payments where enrollment_id = e.id and status = 'pending') then
        perform registrar.raise_app('RG409', 'payment-in-progress',
            'Another payment for this registration is being processed.');
    end if;
    insert into registrar.payments (enrollment_id, user_id, status, amount_cents, currency)
    values (e.id, p_user, 'pending', e.amount_due_cents - e.paid_cents, e.currency)
    returning * into p;
    update registrar.enrollments set payment_started_at = now() where id = e.id;
    update registrar.idempotency_keys set payment_id = p.id where user_id = p_user and key = p_key;
    return json_build_object('action', 'charge', 'payment_id', p.id,
        'amount_cents', p.amount_cents, 'currency', p.currency);
end $$;
