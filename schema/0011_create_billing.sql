-- 0011: receipts and invoices numbered without gaps, offline and
-- institutional payment, refunds by an admin without cancelling, and the
-- profession (hence the price) fixed on each registration when it is made.
--
-- Rules that must never break, and where they live:
--   * receipt and invoice numbers R-<year>-<n> / INV-<year>-<n> are 1..N
--     per year without a gap or a repeat: a counter row per kind and year
--     (document_counters), incremented by the transaction that issues the
--     document; a transaction that rolls back rolls its increment back with
--     it, and the row lock orders concurrent issuers (a sequence would
--     leave holes). The primary key of receipts and invoices backs it;
--   * refunds never exceed the payment: payments_refund_within_amount
--     (0004) on payments.refunded_cents, which refund_create raises under
--     the payment's row lock;
--   * one open invoice per registration: a partial unique index.
--
-- Lock order (extends 0004's): enrollment -> payment -> refund -> invoice
-- -> document counter (always last, so its hold is short and no cycle can
-- close through it).

-- ---------------------------------------------------------------------------
-- The profession a registration was priced for

alter table registrar.enrollments add column profession text;
update registrar.enrollments e set profession = u.profession
from registrar.users u where u.id = e.user_id and e.profession is null;

-- Other paths that insert registrations (a director registering someone,
-- group registration) get the learner's current profession too.
create function registrar.enrollments_fill_profession() returns trigger
language plpgsql as $$
begin
    if new.profession is null then
        select u.profession into new.profession from registrar.users u where u.id = new.user_id;
    end if;
    return new;
end $$;
create trigger enrollments_fill_profession before insert on registrar.enrollments
    for each row execute function registrar.enrollments_fill_profession();
alter table registrar.enrollments alter column profession set not null;

-- ---------------------------------------------------------------------------
-- Tables

create table registrar.document_counters (
    kind text not null check (kind in ('receipt', 'invoice')),
    year integer not null check (year between 2000 and 9999),
    last_n integer not null check (last_n > 0),
    primary key (kind, year)
);

-- Offline payments name their method in payments.processor; reference is
-- the cheque number, the wire's reference or the purchase order.
alter table registrar.payments
    add column reference text check (char_length(reference) <= 200),
    add column recorded_by uuid,
    add column card_brand text check (char_length(card_brand) <= 20),
    add column card_last4 text check (card_last4 ~ '^[0-9]{4}$');

create table registrar.refunds (
    id uuid primary key default gen_random_uuid(),
    payment_id uuid not null references registrar.payments (id) on delete restrict,
    amount_cents integer not null check (amount_cents > 0),
    reason text check (char_length(reason) <= 500),
    kind text not null check (kind in ('admin', 'cancellation')),
    status text not null check (status in ('pending', 'succeeded', 'failed')),
    processor_ref text check (char_length(processor_ref) <= 100),
    actor_id uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index refunds_payment on registrar.refunds (payment_id, created_at);
create index refunds_pending on registrar.refunds (updated_at) where status = 'pending';

create table registrar.receipts (
    number text primary key check (number ~ '^R-[0-9]{4}-[1-9][0-9]*$'),
    payment_id uuid not null references registrar.payments (id) on delete restrict,
    refund_id uuid unique references registrar.refunds (id) on delete restrict,
    amount_cents integer not null check (amount_cents > 0),
    issued_at timestamptz not null default now()
);
create unique index receipts_one_per_payment on registrar.receipts (payment_id) where refund_id is null;

create table registrar.invoices (
    id uuid primary key default gen_random_uuid(),
    number text not null unique check (number ~ '^INV-[0-9]{4}-[1-9][0-9]*$'),
    enrollment_id uuid not null references registrar.enrollments (id) on delete restrict,
    bill_to_name text not null check (char_length(bill_to_name) between 1 and 200),
    bill_to_address text not null check (char_length(bill_to_address) between 1 and 1000),
    bill_to_email text not null check (char_length(bill_to_email) between 3 and 254),
    due_on date not null,
    amount_cents integer not null check (amount_cents > 0),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    status text not null check (status in ('open', 'paid')),
    issued_by uuid,
    created_at timestamptz not null default now(),
    paid_at timestamptz
);
create unique index invoices_one_open on registrar.invoices (enrollment_id) where status = 'open';

-- ---------------------------------------------------------------------------
-- Numbers and money in words

-- The next number of p_kind this year, as '<p_prefix>-<year>-<n>'. The
-- counter row stays locked until the caller's transaction ends: call it
-- last, just before the insert that uses the number.
create function registrar.document_number_next(p_kind text, p_prefix text) returns text
language plpgsql as $$
declare
    v_year integer := extract(year from now() at time zone 'UTC')::integer;
    v_n integer;
begin
    insert into registrar.document_counters (kind, year, last_n) values (p_kind, v_year, 1)
    on conflict (kind, year) do update set last_n = registrar.document_counters.last_n + 1
    returning last_n into v_n;
    return format('%s-%s-%s', p_prefix, v_year, v_n);
end $$;

-- 125000, 'USD' -> 'USD 1,250.00'.
create function registrar.money_text(p_cents bigint, p_currency text) returns text
language sql immutable as $$
    select p_currency || ' ' || to_char(p_cents / 100, 'FM999,999,999,990') || '.'
        || lpad((p_cents % 100)::text, 2, '0')
$$;

create function registrar.method_text(p registrar.payments) returns text
language sql immutable as $$
    select case p.processor
        when 'cheque' then 'Cheque'
        when 'wire' then 'Wire transfer'
        when 'purchase_order' then 'Purchase order'
        when 'waived' then 'Waived'
        else 'Card' || case when p.card_brand is not null
                            then ' (' || p.card_brand || coalesce(' ending ' || p.card_last4, '') || ')'
                            else '' end end
$$;

-- The card's brand and last four digits, as the processor told them, on a
-- charge still pending (called just before payment_finish, so that the
-- receipt and its message name the card).
create function registrar.payment_card_set(p_payment uuid, p_brand text, p_last4 text) returns void
language sql as $$
    update registrar.payments set card_brand = left(p_brand, 20),
        card_last4 = case when p_last4 ~ '^[0-9]{4}$' then p_last4 end
    where id = p_payment and status = 'pending'
$$;

-- ---------------------------------------------------------------------------
-- Receipts and messages, issued in the transaction that moves the money

-- A payment that succeeds (a card charge settling, or an offline payment
-- recorded as succeeded) gets its receipt and a message to the learner.
create function registrar.payments_issue_receipt() returns trigger
language plpgsql as $$
declare
    v_number text;
    v_title text;
begin
    if new.status <> 'succeeded' or (tg_op = 'UPDATE' and old.status <> 'pending') then
        return null;
    end if;
    select o.title into v_title from registrar.enrollments e
    join registrar.offerings o on o.id = e.offering_id where e.id = new.enrollment_id;
    v_number := registrar.document_number_next('receipt', 'R');
    insert into registrar.receipts (number, payment_id, amount_cents)
    values (v_number, new.id, new.amount_cents);
    perform registrar.outbox_to_user(new.user_id, 'Payment received: ' || v_title,
        format(E'We received your payment of %s for %s (%s).\n\nYour receipt %s: %s',
            registrar.money_text(new.amount_cents, new.currency), v_title,
            registrar.method_text(new), v_number,
            registrar.public_url() || '/api/v1/payments/' || new.id || '/receipt'));
    return null;
end $$;
create trigger payments_issue_receipt after insert or update of status on registrar.payments
    for each row execute function registrar.payments_issue_receipt();

-- A refund that went through gets its receipt and a message.
create function registrar.refunds_issue_receipt() returns trigger
language plpgsql as $$
declare
    p registrar.payments;
    v_number text;
    v_title text;
begin
    if new.status <> 'succeeded' or (tg_op = 'UPDATE' and old.status = 'succeeded') then
        return null;
    end if;
    select * into p from registrar.payments where id = new.payment_id;
    select o.title into v_title from registrar.enrollments e
    join registrar.offerings o on o.id = e.offering_id where e.id = p.enrollment_id;
    v_number := registrar.document_number_next('receipt', 'R');
    insert into registrar.receipts (number, payment_id, refund_id, amount_cents)
    values (v_number, p.id, new.id, new.amount_cents);
    perform registrar.outbox_to_user(p.user_id, 'Refund: ' || v_title,
        format(E'We refunded %s of your payment for %s.\n\nYour receipt %s: %s',
            registrar.money_text(new.amount_cents, p.currency), v_title, v_number,
            registrar.public_url() || '/api/v1/payments/' || p.id || '/receipt'));
    return null;
end $$;
create trigger refunds_issue_receipt after insert or update of status on registrar.refunds
    for each row execute function registrar.refunds_issue_receipt();

-- Every registration is confirmed to its learner by a message.
create function registrar.enrollments_message() returns trigger
language plpgsql as $$
declare
    o registrar.offerings;
begin
    select * into o from registrar.offerings where id = new.offering_id;
    perform registrar.outbox_to_user(new.user_id, 'Registration: ' || o.title,
        format(E'%s\n\nYour registration: %s',
            case new.status
                when 'confirmed' then format('Your seat in %s is confirmed.', o.title)
                when 'held' then format('A seat in %s is held for you; pay for it before %s to keep it.',
                    o.title, registrar.rfc3339(new.hold_expires_at, o.timezone))
                when 'waitlisted' then format('You are on the waitlist of %s.', o.title)
                else format('Your application for %s was received.', o.title) end,
            registrar.public_url() || '/#/registrations/' || new.id));
    return null;
end $$;
create trigger enrollments_message after insert on registrar.enrollments
    for each row execute function registrar.enrollments_message();

-- An invoice is settled when its registration has been paid in full.
create function registrar.enrollments_settle_invoice() returns trigger
language plpgsql as $$
begin
    if new.paid_cents >= new.amount_due_cents then
        update registrar.invoices set status = 'paid', paid_at = now()
        where enrollment_id = new.id and status = 'open';
    end if;
    return null;
end $$;
create trigger enrollments_settle_invoice after update of paid_cents on registrar.enrollments
    for each row execute function registrar.enrollments_settle_invoice();

-- ---------------------------------------------------------------------------
-- JSON forms

create function registrar.refund_json(r registrar.refunds) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'id', r.id,
        'payment_id', r.payment_id,
        'amount_cents', r.amount_cents,
        'reason', r.reason,
        'status', r.status,
        'receipt_number', (select number from registrar.receipts where refund_id = r.id),
        'created_at', registrar.rfc3339(r.created_at, 'UTC'))
$$;

create function registrar.invoice_json(i registrar.invoices) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'id', i.id,
        'number', i.number,
        'enrollment_id', i.enrollment_id,
        'bill_to', jsonb_build_object('name', i.bill_to_name, 'address', i.bill_to_address,
                                      'email', i.bill_to_email),
        'due_on', i.due_on,
        'amount_cents', i.amount_cents,
        'currency', i.currency,
        'status', i.status,
        'created_at', registrar.rfc3339(i.created_at, 'UTC'))
$$;

-- The registration as a director's payment forms need it: locked, and
-- visible to the caller. Null when the caller may not see it (404); a
-- learner acting on their own registration is 403.
create function registrar.billing_enrollment_lock(p_actor uuid, p_admin boolean, p_id uuid)
returns registrar.enrollments
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
begin
    select * into e from registrar.enrollments where id = p_id for update;
    if e.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    if not registrar.can_direct(o.course_id, p_actor, p_admin) then
        if e.user_id = p_actor then
            perform registrar.require_director(o, p_actor, p_admin);
        end if;
        return null;
    end if;
    return e;
end $$;

-- What a registration still owes, or 409 when it can take no payment now.
create function registrar.billing_owed(e registrar.enrollments) returns integer
language plpgsql as $$
begin
    if e.status = 'expired' or (e.status = 'held' and e.hold_expires_at <= now()) then
        perform registrar.raise_app('RG409', 'hold-expired',
            'The seat hold has run out; register the learner again first.');
    end if;
    if e.status not in ('held', 'confirmed') then
        perform registrar.raise_app('RG409', 'not-payable',
            format('A registration that is %s cannot be paid.', e.status),
            jsonb_build_object('status', e.status));
    end if;
    if e.amount_due_cents - e.paid_cents <= 0 then
        perform registrar.raise_app('RG409', 'already-paid', 'This registration owes nothing.');
    end if;
    if exists (select 1 from registrar.payments where enrollment_id = e.id and status = 'pending') then
        perform registrar.raise_app('RG409', 'payment-in-progress',
            'A card payment for this registration is being processed.');
    end if;
    return e.amount_due_cents - e.paid_cents;
end $$;

-- ---------------------------------------------------------------------------
-- Offline payment and invoices

-- POST /api/v1/enrollments/{id}/payments/offline by an admin or a director
-- of the course: a cheque, wire, purchase order or waiver, at most what is
-- owed. The seat is confirmed (a hold stops expiring); an open invoice is
-- settled once everything is paid (enrollments_settle_invoice). The
-- receipt and message come from payments_issue_receipt.
--
-- Locking: the enrollment FOR UPDATE, then the new payment, the invoice,
-- the receipt counter.
create function registrar.offline_payment_record(p_actor uuid, p_admin boolean, p_id uuid,
    p_method text, p_amount integer, p_reference text) returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    p registrar.payments;
    v_owed integer;
begin
    e := registrar.billing_enrollment_lock(p_actor, p_admin, p_id);
    if e.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    v_owed := registrar.billing_owed(e);
    if p_amount > v_owed then
        perform registrar.raise_invalid('amount_cents',
            format('is more than the %s still owed', registrar.money_text(v_owed, e.currency)));
    end if;
    update registrar.enrollments set
        paid_cents = paid_cents + p_amount, status = 'confirmed', hold_expires_at = null,
        updated_at = now()
    where id = e.id returning * into e;
    insert into registrar.payments (enrollment_id, user_id, status, amount_cents, currency,
        processor, reference, recorded_by)
    values (e.id, e.user_id, 'succeeded', p_amount, e.currency, p_method, p_reference, p_actor)
    returning * into p;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'payment.offline', 'payment:' || p.id,
        jsonb_build_object('enrollment_id', e.id, 'method', p_method, 'amount_cents', p_amount), o.id);
    return json_build_object('payment', registrar.payment_json(p) || jsonb_build_object(
        'method', p_method, 'reference', p_reference,
        'receipt_number', (select number from registrar.receipts where payment_id = p.id and refund_id is null)),
        'enrollment', registrar.enrollment_json(e, o));
end $$;

-- POST /api/v1/enrollments/{id}/invoice by an admin or a director of the
-- course: an invoice for what is owed, to an institution; the seat is
-- confirmed with the amount still owed. One open invoice per registration.
--
-- Locking: the enrollment FOR UPDATE, then the invoice counter.
create function registrar.invoice_create(p_actor uuid, p_admin boolean, p_id uuid, p_name text,
    p_address text, p_email text, p_due_on date) returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    i registrar.invoices;
    v_owed integer;
begin
    e := registrar.billing_enrollment_lock(p_actor, p_admin, p_id);
    if e.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    v_owed := registrar.billing_owed(e);
    if p_due_on < (now() at time zone o.timezone)::date then
        perform registrar.raise_invalid('due_on', 'must not be in the past');
    end if;
    if exists (select 1 from registrar.invoices where enrollment_id = e.id and status = 'open') then
        perform registrar.raise_app('RG409', 'invoice-exists',
            'This registration already has an open invoice.');
    end if;
    update registrar.enrollments set status = 'confirmed', hold_expires_at = null, updated_at = now()
    where id = e.id;
    insert into registrar.invoices (number, enrollment_id, bill_to_name, bill_to_address,
        bill_to_email, due_on, amount_cents, currency, status, issued_by)
    values (registrar.document_number_next('invoice', 'INV'), e.id, p_name, p_address,
        lower(p_email), p_due_on, v_owed, e.currency, 'open', p_actor)
    returning * into i;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'invoice.issue', 'invoice:' || i.id,
        jsonb_build_object('enrollment_id', e.id, 'number', i.number, 'amount_cents', v_owed), o.id);
    return json_build_object('invoice', registrar.invoice_json(i));
end $$;

-- Everything an invoice's PDF shows, for its learner, a director of the
-- course or an admin (anyone else: null).
create function registrar.invoice_document(p_viewer uuid, p_admin boolean, p_id uuid) returns json
language sql stable as $$
    select (registrar.invoice_json(i) || jsonb_build_object(
        'issued_on', (i.created_at at time zone o.timezone)::date,
        'learner', jsonb_build_object('full_name', u.full_name, 'email', u.email,
                                      'institution', u.institution),
        'course', c.title, 'offering', o.title, 'starts_on', o.starts_on, 'ends_on', o.ends_on,
        'venue', o.venue, 'paid_cents', e.paid_cents,
        'owed_cents', greatest(e.amount_due_cents - e.paid_cents, 0)))::json
    from registrar.invoices i
    join registrar.enrollments e on e.id = i.enrollment_id
    join registrar.offerings o on o.id = e.offering_id
    join registrar.courses c on c.id = o.course_id
    join registrar.users u on u.id = e.user_id
    where i.id = p_id
      and (e.user_id = p_viewer or registrar.can_direct(o.course_id, p_viewer, p_admin))
$$;

-- Everything a payment's receipt shows, for its learner, a director of the
-- course or an admin (anyone else, or a payment without a receipt: null).
create function registrar.receipt_document(p_viewer uuid, p_admin boolean, p_payment uuid) returns json
language sql stable as $$
    select json_build_object(
        'number', r.number,
        'issued_on', (r.issued_at at time zone o.timezone)::date,
        'paid_at', registrar.rfc3339(p.created_at, o.timezone),
        'amount', registrar.money_text(p.amount_cents, p.currency),
        'method', registrar.method_text(p),
        'reference', p.reference,
        'learner', json_build_object('full_name', u.full_name, 'email', u.email,
                                     'institution', u.institution),
        'course', c.title, 'offering', o.title, 'starts_on', o.starts_on, 'ends_on', o.ends_on,
        'venue', o.venue,
        'refunds', coalesce((select json_agg(json_build_object(
                       'number', rr.number,
                       'on', (f.created_at at time zone o.timezone)::date,
                       'amount', registrar.money_text(f.amount_cents, p.currency))
                       order by rr.number)
                   from registrar.refunds f
                   join registrar.receipts rr on rr.refund_id = f.id
                   where f.payment_id = p.id), '[]'::json))
    from registrar.payments p
    join registrar.receipts r on r.payment_id = p.id and r.refund_id is null
    join registrar.enrollments e on e.id = p.enrollment_id
    join registrar.offerings o on o.id = e.offering_id
    join registrar.courses c on c.id = o.course_id
    join registrar.users u on u.id = e.user_id
    where p.id = p_payment
      and (e.user_id = p_viewer or registrar.can_direct(o.course_id, p_viewer, p_admin))
$$;

-- ---------------------------------------------------------------------------
-- Refunds by an admin

-- POST /api/v1/payments/{id}/refunds (admin): amount at most what was paid
-- less earlier refunds. Returns {refund, processor, processor_ref}: a
-- card refund is 'pending' until the server has asked the processor
-- (refund_settle); an offline payment's refund is money handed back
-- outside, recorded as made.
--
-- Locking: the payment FOR UPDATE, so two refunds of one payment run one
-- after the other, and the second sees the first's refunded_cents; the
-- conditional update and payments_refund_within_amount decide.
create function registrar.refund_create(p_actor uuid, p_payment uuid, p_amount integer, p_reason text)
returns json
language plpgsql as $$
declare
    p registrar.payments;
    r registrar.refunds;
    v_offline boolean;
begin
    select * into p from registrar.payments where id = p_payment for update;
    if p.id is null then
        return null;
    end if;
    if p.status not in ('succeeded', 'refunded') then
        perform registrar.raise_app('RG409', 'not-refundable',
            format('A payment that is %s cannot be refunded.', p.status));
    end if;
    update registrar.payments set
        refunded_cents = refunded_cents + p_amount,
        status = case when refunded_cents + p_amount = amount_cents then 'refunded' else status end,
        updated_at = now()
    where id = p.id and refunded_cents + p_amount <= amount_cents
    returning * into p;
    if p.id is null then
        select * into p from registrar.payments where id = p_payment;
        perform registrar.raise_app('RG409', 'refund-exceeds-payment',
            format('At most %s of this payment can still be refunded.',
                registrar.money_text(p.amount_cents - p.refunded_cents, p.currency)),
            jsonb_build_object('refundable_cents', p.amount_cents - p.refunded_cents));
    end if;
    v_offline := p.processor in ('cheque', 'wire', 'purchase_order', 'waived');
    insert into registrar.refunds (payment_id, amount_cents, reason, kind, status, actor_id)
    values (p.id, p_amount, p_reason, 'admin', case when v_offline then 'succeeded' else 'pending' end,
        p_actor)
    returning * into r;
    update registrar.enrollments set refund_cents = coalesce(refund_cents, 0) + p_amount,
        updated_at = now()
    where id = p.enrollment_id;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    select p_actor, 'payment.refund', 'payment:' || p.id,
           jsonb_build_object('refund_id', r.id, 'refund_cents', p_amount, 'via', 'admin'), e.offering_id
    from registrar.enrollments e where e.id = p.enrollment_id;
    return json_build_object('refund', registrar.refund_json(r), 'processor', p.processor,
        'processor_ref', p.processor_ref);
end $$;

-- What admins refunded (made or in flight) of payment p_payment: the rest
-- of its refunded_cents is a cancellation's refund, which goes through
-- payments.refund_status as in 0004.
create function registrar.refunds_by_admin(p_payment uuid) returns integer
language sql stable as $$
    select coalesce(sum(amount_cents), 0)::integer from registrar.refunds
    where payment_id = p_payment and kind = 'admin' and status in ('pending', 'succeeded')
$$;

-- After the processor answered a refund of refund_create: made (its
-- receipt and message follow from refunds_issue_receipt) or refused (the
-- amount becomes refundable again). Returns {refund}; safe to repeat.
create function registrar.refund_settle(p_refund uuid, p_ok boolean, p_ref text) returns json
language plpgsql as $$
declare
    r registrar.refunds;
begin
    update registrar.refunds set status = case when p_ok then 'succeeded' else 'failed' end,
        processor_ref = p_ref, updated_at = now()
    where id = p_refund and status = 'pending'
    returning * into r;
    if r.id is not null and not p_ok then
        update registrar.payments set refunded_cents = refunded_cents - r.amount_cents,
            status = case when status = 'refunded' then 'succeeded' else status end, updated_at = now()
        where id = r.payment_id;
        update registrar.enrollments e set refund_cents = greatest(coalesce(e.refund_cents, 0) - r.amount_cents, 0)
        from registrar.payments p where p.id = r.payment_id and e.id = p.enrollment_id;
    end if;
    select * into r from registrar.refunds where id = p_refund;
    return json_build_object('refund', registrar.refund_json(r));
end $$;

-- As in 0004, and a cancellation's refund that went through is recorded as
-- a refund (with its receipt and message); a refund of refund_create that
-- the jobs thread retried (refunds_pending lists it under its own id) is
-- settled by refund_settle.
create or replace function registrar.refund_finish(p_payment uuid, p_ok boolean, p_refund_ref text) returns void
language plpgsql as $$
declare
    p registrar.payments;
begin
    if exists (select 1 from registrar.refunds where id = p_payment) then
        perform registrar.refund_settle(p_payment, p_ok, p_refund_ref);
        return;
    end if;
    update registrar.payments set
        status = case when p_ok then 'refunded' else status end,
        refund_status = case when p_ok then 'succeeded' else 'failed' end,
        refund_ref = coalesce(p_refund_ref, refund_ref),
        updated_at = now()
    where id = p_payment and refund_status = 'pending'
    returning * into p;
    if p.id is null then
        return;
    end if;
    -- The cancellation's refund row (enrollment_cancel made it pending).
    update registrar.refunds set status = case when p_ok then 'succeeded' else 'failed' end,
        processor_ref = p_refund_ref, updated_at = now()
    where payment_id = p.id and kind = 'cancellation' and status = 'pending';
    if not found and p_ok and p.refunded_cents - registrar.refunds_by_admin(p.id) > 0
       and not exists (select 1 from registrar.refunds
                       where payment_id = p.id and kind = 'cancellation' and status = 'succeeded') then
        -- A cancellation from before 0011.
        insert into registrar.refunds (payment_id, amount_cents, reason, kind, status, processor_ref)
        values (p.id, p.refunded_cents - registrar.refunds_by_admin(p.id), 'cancellation', 'cancellation',
            'succeeded', p_refund_ref);
    end if;
end $$;

-- As in 0004, and the refunds of refund_create still pending, by their own id.
create or replace function registrar.refunds_pending(p_limit integer) returns json
language sql stable as $$
    select coalesce(json_agg(x), '[]'::json) from (
        (select json_build_object('payment_id', p.id, 'processor_ref', p.processor_ref,
                                  'amount_cents', p.refunded_cents - registrar.refunds_by_admin(p.id)) as x
         from registrar.payments p
         where p.refund_status = 'pending' and p.updated_at < now() - interval '1 minute'
         order by p.updated_at limit p_limit)
        union all
        (select json_build_object('payment_id', r.id, 'processor_ref', p.processor_ref,
                                  'amount_cents', r.amount_cents)
         from registrar.refunds r join registrar.payments p on p.id = r.payment_id
         where r.status = 'pending' and r.updated_at < now() - interval '1 minute'
         order by r.updated_at limit p_limit)) q
$$;

-- ---------------------------------------------------------------------------
-- As in 0007 (exact waitlist places, verified email, the 3-hold cap, the same
-- locking), and the registration records the profession it was priced for.
create or replace function registrar.enroll(p_user uuid, p_offering uuid, p_code text) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    e registrar.enrollments;
    u registrar.users;
    q record;
    v_status text;
    v_due integer;
    v_existing uuid;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or o.status = 'draft' then
        return null;
    end if;
    select * into u from registrar.users where id = p_user;
    if u.email_verified_at is null then
        perform registrar.raise_app('RG403', 'email-unverified',
            'Confirm your email address before registering: open the link we sent you, or ask for a new one.');
    end if;
    if o.status <> 'open' or now() < coalesce(o.registration_opens_at, '-infinity')
       or now() >= coalesce(o.registration_closes_at, 'infinity') then
        perform registrar.raise_app('RG422', 'registration-closed', case
            when o.status <> 'open' then 'Registration for this offering is not open.'
            when now() < coalesce(o.registration_opens_at, '-infinity') then
                format('Registration opens at %s.', registrar.rfc3339(o.registration_opens_at, o.timezone))
            else 'Registration for this offering has closed.' end);
    end if;
    perform pg_advisory_xact_lock(20072, hashtext(p_user::text));
    perform registrar.expire_own_hold(p_user, p_offering);
    select id into v_existing from registrar.enrollments
    where user_id = p_user and offering_id = p_offering
      and status in ('applied', 'held', 'confirmed', 'waitlisted');
    if v_existing is not null then
        perform registrar.raise_app('RG409', 'already-enrolled',
            'You are already registered for this offering.', jsonb_build_object('enrollment_id', v_existing));
    end if;
    select * into q from registrar.price_quote(o, u.profession, p_code);
    v_due := q.price_cents - q.discount_cents;

    if q.discount_code_id is not null then
        update registrar.discount_codes set uses = uses + 1
        where id = q.discount_code_id and uses < max_uses
          and (expires_at is null or expires_at > now());
        if not found then
            perform registrar.raise_discount_invalid();
        end if;
    end if;

    if o.requires_application then
        v_status := 'applied';
    else
        update registrar.offerings set seats_taken = seats_taken + 1
        where id = p_offering and seats_taken < capacity;
        if not found then
            perform 1 from registrar.offerings where id = p_offering for no key update;
            update registrar.offerings set seats_taken = seats_taken + 1
            where id = p_offering and seats_taken < capacity;
        end if;
        v_status := case when not found then 'waitlisted' when v_due = 0 then 'confirmed' else 'held' end;
    end if;

    if v_status = 'held' and (select count(*) from registrar.enrollments h
                              where h.user_id = p_user and h.status = 'held'
                                and h.hold_expires_at > now()) >= 3 then
        perform registrar.raise_app('RG409', 'too-many-holds',
            'You already hold 3 unpaid seats. Pay for one of them, or cancel one, before registering for another.',
            jsonb_build_object('max_holds', 3));
    end if;

    insert into registrar.enrollments (offering_id, user_id, status, price_cents, discount_cents,
        currency, discount_code_id, hold_expires_at, waitlist_seq, profession)
    values (p_offering, p_user, v_status, q.price_cents, q.discount_cents, o.currency, q.discount_code_id,
        case when v_status = 'held' then now() + make_interval(mins => o.hold_minutes) end,
        case when v_status = 'waitlisted' then nextval('registrar.waitlist_seq') end, u.profession)
    on conflict (user_id, offering_id) where status in ('applied', 'held', 'confirmed', 'waitlisted')
    do nothing
    returning * into e;
    if e.id is null then
        perform registrar.raise_app('RG409', 'already-enrolled', 'You are already registered for this offering.');
    end if;
    return registrar.enrollment_json(e, o)::json;
end $$;

-- ---------------------------------------------------------------------------
-- As in 0004 (same rules, same locking: the enrollment, then the offering,
-- the sessions, the waitlist, and the payment refunded), now that a
-- registration may have several payments (offline ones among them) and
-- earlier refunds by an admin: the policy's refund counts what was already
-- refunded, comes from one payment (a card payment first) and never
-- exceeds what that payment has left; an offline payment's refund is
-- recorded as made (refunds, kind cancellation) and not sent to the
-- processor.
create or replace function registrar.enrollment_cancel(p_actor uuid, p_admin boolean, p_id uuid, p_reason text)
returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    p registrar.payments;
    v_percent integer := 0;
    v_refund integer := 0;
    v_had_seat boolean;
    v_already integer := 0;
    v_offline boolean := false;
begin
    select * into e from registrar.enrollments where id = p_id for update;
    if e.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    if e.user_id is distinct from p_actor and not registrar.can_direct(o.course_id, p_actor, p_admin) then
        return null;
    end if;
    if e.status not in ('applied', 'held', 'confirmed', 'waitlisted') then
        perform registrar.raise_app('RG409', 'not-cancellable',
            format('This registration is %s already.', e.status), jsonb_build_object('status', e.status));
    end if;
    if e.payment_started_at > now() - interval '5 minutes'
       and exists (select 1 from registrar.payments where enrollment_id = e.id and status = 'pending') then
        perform registrar.raise_app('RG409', 'payment-in-progress',
            'A payment for this registration is being processed; try again in a moment.');
    end if;
    v_had_seat := e.status in ('held', 'confirmed');
    if e.paid_cents > 0 then
        v_percent := registrar.refund_percent(o, now());
        -- Refunds already made (by an admin) count toward the policy's.
        select coalesce(sum(refunded_cents), 0)::integer into v_already
        from registrar.payments where enrollment_id = e.id;
        v_refund := greatest((e.paid_cents * v_percent) / 100 - v_already, 0);
        -- The payment refunded: a card payment before an offline one, the
        -- one with the most left to refund; never more than it has left.
        select * into p from registrar.payments
        where enrollment_id = e.id and status in ('succeeded', 'refunded') and refunded_cents < amount_cents
        order by processor in ('cheque', 'wire', 'purchase_order', 'waived'), amount_cents - refunded_cents desc,
                 created_at desc
        limit 1 for update;
        v_refund := least(v_refund, coalesce(p.amount_cents - p.refunded_cents, 0));
        v_offline := coalesce(p.processor in ('cheque', 'wire', 'purchase_order', 'waived'), false);
    end if;
    if e.discount_code_id is not null and e.paid_cents = 0 and e.status <> 'confirmed' then
        update registrar.discount_codes set uses = uses - 1 where id = e.discount_code_id and uses > 0;
    end if;
    update registrar.enrollments set status = 'cancelled', refund_cents = v_refund,
        cancel_reason = p_reason, payment_started_at = null, updated_at = now()
    where id = e.id
    returning * into e;
    if v_had_seat then
        update registrar.offerings set seats_taken = seats_taken - 1 where id = o.id;
    end if;
    perform registrar.release_sessions(array[e.id]);
    if v_had_seat then
        perform registrar.promote_waitlist(o.id, 1);
    end if;
    if v_refund > 0 then
        if v_offline then
            -- Money paid outside is handed back outside: recorded as made.
            update registrar.payments set refunded_cents = refunded_cents + v_refund, updated_at = now()
            where id = p.id;
            insert into registrar.refunds (payment_id, amount_cents, reason, kind, status, actor_id)
            values (p.id, v_refund, 'cancellation', 'cancellation', 'succeeded', p_actor);
        else
            update registrar.payments set refunded_cents = refunded_cents + v_refund, refund_status = 'pending',
                updated_at = now()
            where id = p.id;
            insert into registrar.refunds (payment_id, amount_cents, reason, kind, status, actor_id)
            values (p.id, v_refund, 'cancellation', 'cancellation', 'pending', p_actor);
        end if;
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (p_actor, 'enrollment.refund', 'enrollment:' || e.id,
                jsonb_build_object('payment_id', p.id, 'refund_cents', v_refund, 'refund_percent', v_percent,
                                   'paid_cents', e.paid_cents), o.id);
    end if;
    if e.user_id is distinct from p_actor then
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (p_actor, 'enrollment.cancel', 'enrollment:' || e.id,
                jsonb_build_object('refund_cents', v_refund), o.id);
        perform registrar.outbox_to_user(e.user_id, 'Your registration was cancelled: ' || o.title,
            format('Your registration for %s was cancelled by the course team.%s', o.title,
                   case when v_refund > 0 then format(' %s %s will be refunded to your card.',
                        to_char(v_refund / 100.0, 'FM999999990.00'), e.currency) else '' end));
    end if;
    return json_build_object('enrollment', registrar.enrollment_json(e, o),
        'refund', case when v_refund > 0 and not v_offline then json_build_object('payment_id', p.id,
            'processor_ref', p.processor_ref, 'amount_cents', v_refund) end);
end $$;
