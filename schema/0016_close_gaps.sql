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

-- ---------------------------------------------------------------------------
-- One invoice, or one offline payment, for a group
--
-- A group invoice (group_id set, enrollment_id null) bills the group's
-- bill_to for what its members owe, one invoice_lines row per member, and
-- is numbered INV-<year>-<n> from the same counter as single invoices. A
-- registration is billed by at most one open invoice, its own or its
-- group's: invoices_one_open (0011) and invoices_one_open_group below, and
-- the two triggers invoice_lines_one_open / invoices_one_open_line between
-- them. A group invoice is settled when every member it bills has paid in
-- full, however they paid (enrollments_settle_group_invoice).
--
-- Lock order (0011's, with the group first): group -> its enrollments in
-- id order -> payments -> invoice -> document counter.

alter table registrar.invoices
    alter column enrollment_id drop not null,
    add column group_id uuid references registrar.enrollment_groups (id) on delete restrict,
    add constraint invoices_one_subject check ((enrollment_id is null) <> (group_id is null));
create unique index invoices_one_open_group on registrar.invoices (group_id) where status = 'open';

create table registrar.invoice_lines (
    invoice_id uuid not null references registrar.invoices (id) on delete restrict,
    enrollment_id uuid not null references registrar.enrollments (id) on delete restrict,
    amount_cents integer not null check (amount_cents > 0),
    primary key (invoice_id, enrollment_id)
);
create index invoice_lines_enrollment on registrar.invoice_lines (enrollment_id);

-- 409 invoice-exists when the registration is already billed by an open
-- invoice (its own, or a group's).
create function registrar.invoice_open_refuse(p_enrollment uuid) returns void
language plpgsql as $$
begin
    if exists (select 1 from registrar.invoices where enrollment_id = p_enrollment and status = 'open')
       or exists (select 1 from registrar.invoice_lines l join registrar.invoices i on i.id = l.invoice_id
                  where l.enrollment_id = p_enrollment and i.status = 'open') then
        perform registrar.raise_app('RG409', 'invoice-exists',
            'This registration is already billed by an open invoice.');
    end if;
end $$;

create function registrar.invoice_lines_one_open() returns trigger
language plpgsql as $$
begin
    perform registrar.invoice_open_refuse(new.enrollment_id);
    return new;
end $$;
create trigger invoice_lines_one_open before insert on registrar.invoice_lines
    for each row execute function registrar.invoice_lines_one_open();

create function registrar.invoices_one_open_line() returns trigger
language plpgsql as $$
begin
    if new.enrollment_id is not null and new.status = 'open' then
        perform registrar.invoice_open_refuse(new.enrollment_id);
    end if;
    return new;
end $$;
create trigger invoices_one_open_line before insert on registrar.invoices
    for each row execute function registrar.invoices_one_open_line();

create function registrar.enrollments_settle_group_invoice() returns trigger
language plpgsql as $$
begin
    if new.paid_cents >= new.amount_due_cents then
        update registrar.invoices i set status = 'paid', paid_at = now()
        where i.status = 'open'
          and i.id in (select invoice_id from registrar.invoice_lines where enrollment_id = new.id)
          and not exists (select 1 from registrar.invoice_lines l
                          join registrar.enrollments m on m.id = l.enrollment_id
                          where l.invoice_id = i.id and m.paid_cents < m.amount_due_cents);
    end if;
    return null;
end $$;
create trigger enrollments_settle_group_invoice after update of paid_cents on registrar.enrollments
    for each row execute function registrar.enrollments_settle_group_invoice();

create function registrar.group_invoice_json(i registrar.invoices) returns jsonb
language sql stable as $$
    select registrar.invoice_json(i) || jsonb_build_object(
        'group_id', i.group_id,
        'lines', coalesce((select jsonb_agg(jsonb_build_object('enrollment_id', l.enrollment_id,
                               'full_name', u.full_name, 'amount_cents', l.amount_cents)
                               order by u.full_name, l.enrollment_id)
                           from registrar.invoice_lines l
                           join registrar.enrollments e on e.id = l.enrollment_id
                           join registrar.users u on u.id = e.user_id
                           where l.invoice_id = i.id), '[]'::jsonb))
$$;

-- The group, locked, when the caller may bill it: an admin or a director
-- of its course. Null (404) for anyone else, except its coordinator and
-- its members, who get 403 (they can see that the group exists).
create function registrar.billing_group_lock(p_actor uuid, p_admin boolean, p_id uuid)
returns registrar.enrollment_groups
language plpgsql as $$
declare
    g registrar.enrollment_groups;
    o registrar.offerings;
begin
    select * into g from registrar.enrollment_groups where id = p_id for update;
    if g.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = g.offering_id;
    if not registrar.can_direct(o.course_id, p_actor, p_admin) then
        if g.coordinator_id = p_actor
           or exists (select 1 from registrar.enrollments where group_id = g.id and user_id = p_actor) then
            perform registrar.require_director(o, p_actor, p_admin);
        end if;
        return null;
    end if;
    return g;
end $$;

-- The members of group g that owe money and can pay it now (a seat held
-- with time left, or confirmed), locked in id order; billing_owed raises
-- 409 payment-in-progress for one with a card payment in flight. Members
-- cancelled, waitlisted, applying or whose hold ran out are left out.
-- 409 already-paid when nobody is left.
create function registrar.group_members_owing(g registrar.enrollment_groups) returns registrar.enrollments[]
language plpgsql as $$
declare
    e registrar.enrollments;
    v_list registrar.enrollments[] := '{}';
begin
    for e in
        select * from registrar.enrollments where group_id = g.id order by id for update
    loop
        if (e.status = 'confirmed' or (e.status = 'held' and e.hold_expires_at > now()))
           and e.amount_due_cents - e.paid_cents > 0 then
            perform registrar.billing_owed(e);
            v_list := v_list || e;
        end if;
    end loop;
    if cardinality(v_list) = 0 then
        perform registrar.raise_app('RG409', 'already-paid', 'No member of this group owes anything.');
    end if;
    return v_list;
end $$;

-- POST /api/v1/group-registrations/{id}/invoice (admin, a director of the
-- course): one invoice for what every member owes, to p_name/p_address/
-- p_email or, when p_name is null, to the group's bill_to (400 bill_to
-- when that lacks an address or an email); every member billed is
-- confirmed with the amount still owed. 409 invoice-exists when the group
-- or one of its members already has an open invoice.
create function registrar.group_invoice_create(p_actor uuid, p_admin boolean, p_id uuid, p_name text,
    p_address text, p_email text, p_due_on date) returns json
language plpgsql as $$
declare
    g registrar.enrollment_groups;
    o registrar.offerings;
    i registrar.invoices;
    e registrar.enrollments;
    v_members registrar.enrollments[];
    v_total integer := 0;
    v_name text := p_name;
    v_address text := p_address;
    v_email text := p_email;
begin
    g := registrar.billing_group_lock(p_actor, p_admin, p_id);
    if g.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = g.offering_id;
    if p_due_on < (now() at time zone o.timezone)::date then
        perform registrar.raise_invalid('due_on', 'must not be in the past');
    end if;
    if p_name is null then
        v_name := nullif(btrim(g.bill_to->>'name'), '');
        v_address := nullif(btrim(g.bill_to->>'address'), '');
        v_email := nullif(btrim(g.bill_to->>'email'), '');
        if v_name is null or v_address is null or v_email is null then
            perform registrar.raise_invalid('bill_to',
                'is required: the group''s bill_to has no name, address and email to send the invoice to');
        end if;
    end if;
    if exists (select 1 from registrar.invoices where group_id = g.id and status = 'open') then
        perform registrar.raise_app('RG409', 'invoice-exists', 'This group already has an open invoice.');
    end if;
    v_members := registrar.group_members_owing(g);
    foreach e in array v_members loop
        v_total := v_total + (e.amount_due_cents - e.paid_cents);
        update registrar.enrollments set status = 'confirmed', hold_expires_at = null, updated_at = now()
        where id = e.id;
    end loop;
    insert into registrar.invoices (number, group_id, bill_to_name, bill_to_address, bill_to_email,
        due_on, amount_cents, currency, status, issued_by)
    values (registrar.document_number_next('invoice', 'INV'), g.id, v_name, v_address,
        lower(v_email), p_due_on, v_total, o.currency, 'open', p_actor)
    returning * into i;
    insert into registrar.invoice_lines (invoice_id, enrollment_id, amount_cents)
    select i.id, m.id, m.amount_due_cents - m.paid_cents from unnest(v_members) m;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'invoice.issue', 'invoice:' || i.id,
        jsonb_build_object('group_id', g.id, 'number', i.number, 'amount_cents', v_total,
                           'members', cardinality(v_members)), o.id);
    return json_build_object('invoice', registrar.group_invoice_json(i));
end $$;

-- POST /api/v1/group-registrations/{id}/payments/offline (admin, a
-- director of the course): a cheque, wire, purchase order or waiver of
-- exactly the group's total still owed (400 amount_cents otherwise). It is
-- recorded as one payment per member, each of what that member owed and
-- with the same method and reference, so that each member's receipt,
-- refund and cancellation work as for a registration of their own; every
-- member is confirmed, and the group's open invoice is settled.
create function registrar.group_offline_payment_record(p_actor uuid, p_admin boolean, p_id uuid,
    p_method text, p_amount integer, p_reference text) returns json
language plpgsql as $$
declare
    g registrar.enrollment_groups;
    o registrar.offerings;
    p registrar.payments;
    e registrar.enrollments;
    v_members registrar.enrollments[];
    v_total integer := 0;
    v_owed integer;
    v_payments jsonb := '[]'::jsonb;
    v_enrollments jsonb := '[]'::jsonb;
begin
    g := registrar.billing_group_lock(p_actor, p_admin, p_id);
    if g.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = g.offering_id;
    v_members := registrar.group_members_owing(g);
    select sum(m.amount_due_cents - m.paid_cents) into v_total from unnest(v_members) m;
    if p_amount <> v_total then
        perform registrar.raise_invalid('amount_cents',
            format('must be the group''s total still owed, %s', registrar.money_text(v_total, o.currency)));
    end if;
    foreach e in array v_members loop
        v_owed := e.amount_due_cents - e.paid_cents;
        update registrar.enrollments set
            paid_cents = paid_cents + v_owed, status = 'confirmed', hold_expires_at = null,
            updated_at = now()
        where id = e.id returning * into e;
        insert into registrar.payments (enrollment_id, user_id, status, amount_cents, currency,
            processor, reference, recorded_by)
        values (e.id, e.user_id, 'succeeded', v_owed, e.currency, p_method, p_reference, p_actor)
        returning * into p;
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (p_actor, 'payment.offline', 'payment:' || p.id,
            jsonb_build_object('enrollment_id', e.id, 'group_id', g.id, 'method', p_method,
                               'amount_cents', v_owed), o.id);
        v_payments := v_payments || (registrar.payment_json(p) || jsonb_build_object(
            'method', p_method, 'reference', p_reference,
            'receipt_number', (select number from registrar.receipts
                               where payment_id = p.id and refund_id is null)));
        v_enrollments := v_enrollments || registrar.enrollment_json(e, o);
    end loop;
    return json_build_object('group_id', g.id, 'amount_cents', v_total, 'currency', o.currency,
        'payments', v_payments, 'enrollments', v_enrollments);
end $$;

-- As in 0011 for a registration's own invoice; a group's invoice is shown
-- to its coordinator, a director of the course and admins, with one line
-- per member (name, email, amount billed) instead of the learner.
create or replace function registrar.invoice_document(p_viewer uuid, p_admin boolean, p_id uuid) returns json
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
    union all
    select (registrar.group_invoice_json(i) || jsonb_build_object(
        'issued_on', (i.created_at at time zone o.timezone)::date,
        'coordinator', jsonb_build_object('full_name', u.full_name, 'email', u.email),
        'members', (select jsonb_agg(jsonb_build_object('full_name', mu.full_name, 'email', mu.email,
                        'amount', registrar.money_text(l.amount_cents, i.currency))
                        order by mu.full_name, l.enrollment_id)
                    from registrar.invoice_lines l
                    join registrar.enrollments m on m.id = l.enrollment_id
                    join registrar.users mu on mu.id = m.user_id
                    where l.invoice_id = i.id),
        'course', c.title, 'offering', o.title, 'starts_on', o.starts_on, 'ends_on', o.ends_on,
        'venue', o.venue,
        'paid_cents', (select coalesce(sum(least(m.paid_cents, m.amount_due_cents)), 0)
                       from registrar.invoice_lines l join registrar.enrollments m on m.id = l.enrollment_id
                       where l.invoice_id = i.id),
        'owed_cents', (select coalesce(sum(greatest(m.amount_due_cents - m.paid_cents, 0)), 0)
                       from registrar.invoice_lines l join registrar.enrollments m on m.id = l.enrollment_id
                       where l.invoice_id = i.id)))::json
    from registrar.invoices i
    join registrar.enrollment_groups g on g.id = i.group_id
    join registrar.offerings o on o.id = g.offering_id
    join registrar.courses c on c.id = o.course_id
    left join registrar.users u on u.id = g.coordinator_id
    where i.id = p_id
      and (g.coordinator_id = p_viewer or registrar.can_direct(o.course_id, p_viewer, p_admin))
$$;

-- ---------------------------------------------------------------------------
-- Privacy of what 0011-0014 added
--
-- GET /me/export: what billing, attendance and the centre's work hold about
-- the learner, as members merged into privacy_export's document (privacy.c:
-- privacy_export(u)::jsonb || privacy_export_credits(u) ||
-- privacy_export_centre(u)); attendance and certificates come from
-- privacy_export_credits (0013), messages received (a roster's message
-- included) from privacy_export's outbox list.
create function registrar.privacy_export_centre(p_user uuid) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'badges', coalesce((select jsonb_agg(jsonb_build_object(
                'enrollment_id', b.enrollment_id, 'code', b.code,
                'created_at', registrar.rfc3339(b.created_at, 'UTC')) order by b.created_at, b.enrollment_id)
            from registrar.badges b join registrar.enrollments e on e.id = b.enrollment_id
            where e.user_id = p_user), '[]'::jsonb),
        'receipts', coalesce((select jsonb_agg(jsonb_build_object(
                'number', r.number, 'payment_id', r.payment_id, 'refund', r.refund_id is not null,
                'amount_cents', r.amount_cents, 'currency', p.currency,
                'issued_at', registrar.rfc3339(r.issued_at, 'UTC')) order by r.issued_at, r.number)
            from registrar.receipts r join registrar.payments p on p.id = r.payment_id
            where p.user_id = p_user), '[]'::jsonb),
        'refunds', coalesce((select jsonb_agg(jsonb_build_object(
                'payment_id', f.payment_id, 'amount_cents', f.amount_cents, 'currency', p.currency,
                'reason', f.reason, 'status', f.status,
                'created_at', registrar.rfc3339(f.created_at, 'UTC')) order by f.created_at, f.id)
            from registrar.refunds f join registrar.payments p on p.id = f.payment_id
            where p.user_id = p_user), '[]'::jsonb),
        -- Invoices of their registrations, and their line of a group's
        -- invoice (its bill_to only when they coordinated the group).
        'invoices', coalesce((select jsonb_agg(x.j order by x.at, x.number) from (
                select i.created_at as at, i.number, registrar.invoice_json(i) as j
                from registrar.invoices i join registrar.enrollments e on e.id = i.enrollment_id
                where e.user_id = p_user
                union all
                select i.created_at, i.number, jsonb_build_object('id', i.id, 'number', i.number,
                    'group_id', i.group_id, 'enrollment_id', l.enrollment_id,
                    'amount_cents', l.amount_cents, 'currency', i.currency, 'status', i.status,
                    'due_on', i.due_on, 'created_at', registrar.rfc3339(i.created_at, 'UTC'),
                    'bill_to', case when g.coordinator_id = p_user then jsonb_build_object(
                        'name', i.bill_to_name, 'address', i.bill_to_address, 'email', i.bill_to_email) end)
                from registrar.invoice_lines l
                join registrar.invoices i on i.id = l.invoice_id
                join registrar.enrollments e on e.id = l.enrollment_id
                join registrar.enrollment_groups g on g.id = i.group_id
                where e.user_id = p_user) x), '[]'::jsonb),
        -- Groups they belong to or coordinated; of the others in them, only how many.
        'groups', coalesce((select jsonb_agg(jsonb_build_object(
                'id', g.id, 'offering', jsonb_build_object('id', o.id, 'title', o.title),
                'coordinator', g.coordinator_id = p_user,
                'member', exists (select 1 from registrar.enrollments e
                                  where e.group_id = g.id and e.user_id = p_user),
                'members', (select count(*) from registrar.enrollments e where e.group_id = g.id),
                'bill_to', case when g.coordinator_id = p_user then g.bill_to end,
                'created_at', registrar.rfc3339(g.created_at, 'UTC')) order by g.created_at, g.id)
            from registrar.enrollment_groups g join registrar.offerings o on o.id = g.offering_id
            where g.coordinator_id = p_user
               or exists (select 1 from registrar.enrollments e where e.group_id = g.id and e.user_id = p_user)),
            '[]'::jsonb))
$$;

-- DELETE /me: what privacy_erase (0008) does not know about, done in its
-- transaction when it marks the account erased (a trigger, so that
-- privacy_erase stays as it is). Amounts, numbers and ids stay (receipts,
-- invoices and certificates are kept for the accounts and accreditation);
-- personal text goes:
--   * invoices that bill the learner themselves (their registration's, or
--     a group's they coordinated, to their name or email): the bill_to
--     becomes 'Erased account' at the erased address;
--   * the bill_to of groups they coordinated, when it names them;
--   * the reasons written on refunds of their payments;
--   * the stored answers of badge scans that name them (the scan's nonce
--     is forgotten with it; attendance rows stay, by enrollment id);
--   * their name in the messages that told their group's members who
--     registered them.
-- Badges, attendance and group memberships hold ids only and stay.
create function registrar.users_erase_centre() returns trigger
language plpgsql as $$
begin
    if old.erased_at is not null or new.erased_at is null then
        return null;
    end if;
    update registrar.invoices i set bill_to_name = 'Erased account', bill_to_address = 'Erased',
        bill_to_email = new.email
    where (lower(i.bill_to_email) = lower(old.email) or i.bill_to_name = old.full_name)
      and (i.enrollment_id in (select id from registrar.enrollments where user_id = old.id)
           or i.group_id in (select id from registrar.enrollment_groups where coordinator_id = old.id));
    update registrar.enrollment_groups g set bill_to = null
    where g.coordinator_id = old.id and g.bill_to is not null
      and (lower(g.bill_to->>'email') = lower(old.email) or g.bill_to->>'name' = old.full_name
           or g.bill_to::text ilike '%' || old.email || '%');
    update registrar.refunds f set reason = null
    where f.reason is not null
      and f.payment_id in (select id from registrar.payments where user_id = old.id);
    -- The members of their groups were told by name who registered them.
    update registrar.outbox m set body = replace(m.body, old.full_name, 'Your group''s coordinator')
    where strpos(m.body, old.full_name) > 0
      and m.recipient in (select u.email from registrar.enrollment_groups g
                          join registrar.enrollments e on e.group_id = g.id
                          join registrar.users u on u.id = e.user_id
                          where g.coordinator_id = old.id);
    delete from registrar.check_in_nonces n
    where n.result is not null and strpos(n.result::text, old.id::text) > 0;
    return null;
end $$;
create trigger users_erase_centre after update of erased_at on registrar.users
    for each row execute function registrar.users_erase_centre();

-- ---------------------------------------------------------------------------
-- Functions nothing calls any more: the roster is registrar.roster_read
-- (0014); sign-up and reset requests take the public URL and the
-- verification token (0007).
drop function registrar.roster(uuid, boolean, uuid, text[], integer, text, text);
drop function registrar.account_create(text, text, text, text, text, text);
drop function registrar.password_reset_request(text, text, bytea);
