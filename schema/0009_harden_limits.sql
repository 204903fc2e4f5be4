-- 0009: sign-in limits that cannot lock a real user out, schedule
-- conflicts that name only what the caller may read, sessions of at most
-- 24 hours, and payments whose request died settled without a charge for
-- a seat that is gone.

-- ---------------------------------------------------------------------------
-- Sign-in failures
--
-- Until now ten failures for one email from anywhere kept its owner out for
-- 15 minutes: anyone who knew the address could lock a learner out on the
-- morning registration opened. Now:
--   * the hard limit (10 failures in 15 minutes, then 429 until the oldest
--     leaves the window) counts per (account, client address) and per
--     client address overall: an attacker's address is stopped, the owner's
--     is not;
--   * per account, from any address, failures beyond the 5th only slow
--     attempts down: each further attempt waits 1, 2, 4, 8, 16, then 30
--     seconds after the last one began, so the owner is held up by seconds
--     at most, and a crowd of addresses still gets one guess per 30 s.
-- Addresses are keyed on their network: /32 for IPv4, /64 for IPv6 (one
-- subscriber's whole prefix), IPv4-mapped IPv6 as the IPv4 address.

-- The key a client address is counted under. Immutable: a plain function
-- of its argument.
create or replace function registrar.address_key(p_ip inet) returns cidr
language sql immutable strict parallel safe as $$
    select case
        when family(p_ip) = 4 then network(set_masklen(p_ip, 32))
        when p_ip << '::ffff:0.0.0.0/96'::inet
            then network(set_masklen('0.0.0.0'::inet + (host(p_ip)::inet - '::ffff:0.0.0.0'::inet), 32))
        else network(set_masklen(p_ip, 64))
    end
$$;

-- Written by auth_attempt_begin with each row: the counts are on the key,
-- never on the exact address.
alter table registrar.auth_failures add column client_net cidr;
update registrar.auth_failures set client_net = registrar.address_key(client_ip)
where client_ip is not null;
drop index registrar.auth_failures_ip;
create index auth_failures_net on registrar.auth_failures (client_net, at);
create index auth_failures_email_net on registrar.auth_failures (email, client_net, at);

-- The hard limit over the rows of one key (p_email and/or p_net; a null
-- argument is no condition): seconds until one more attempt may start, 0 if
-- it may now. As in 0005, a pending row younger than a minute may still
-- turn out a failure and counts; an older one was never checked and counts
-- for nothing; when only pending rows fill the window the answer is 1 s
-- (they may well succeed and be forgotten).
create function registrar.auth_attempt_limit(p_email text, p_net cidr) returns integer
language plpgsql stable as $$
declare
    c_window constant interval := interval '15 minutes';
    c_max constant integer := 10;
    n integer;
    settled integer;
    oldest timestamptz;
begin
    select count(*) filter (where not f.pending or f.at > now() - interval '1 minute'),
           count(*) filter (where not f.pending)
    into n, settled
    from registrar.auth_failures f
    where (p_email is null or f.email = p_email)
      and (p_net is null or f.client_net = p_net)
      and f.at > now() - c_window;
    if n < c_max then
        return 0;
    end if;
    if settled < c_max then
        return 1;
    end if;
    select f.at into oldest from registrar.auth_failures f
    where (p_email is null or f.email = p_email)
      and (p_net is null or f.client_net = p_net)
      and f.at > now() - c_window and not f.pending
    order by f.at offset settled - c_max limit 1;
    return greatest(1, ceil(extract(epoch from oldest + c_window - now()))::integer);
end
$$;

-- The account's growing delay: after 5 failures in 15 minutes from
-- anywhere, the k-th further attempt (k = 1, 2, ...) may start
-- min(2^(k-1), 30) seconds after the latest attempt began. Counted over
-- settled failures, the answer is that wait; when only attempts still being
-- checked make it (they may succeed), 1 s, as for the hard limit. So
-- however many arrive at once, through however many processes, at most 5
-- are checked together, then one per delay.
create function registrar.auth_attempt_delay(p_email text) returns integer
language plpgsql stable as $$
declare
    c_window constant interval := interval '15 minutes';
    c_free constant integer := 5;
    c_cap constant integer := 30;
    n integer;
    settled integer;
    last_any timestamptz;
    last_settled timestamptz;
    v_wait integer;
begin
    select count(*) filter (where not f.pending or f.at > now() - interval '1 minute'),
           count(*) filter (where not f.pending),
           max(f.at) filter (where not f.pending or f.at > now() - interval '1 minute'),
           max(f.at) filter (where not f.pending)
    into n, settled, last_any, last_settled
    from registrar.auth_failures f
    where f.email = p_email and f.at > now() - c_window;
    if settled >= c_free then
        v_wait := ceil(extract(epoch from last_settled
            + make_interval(secs => least(power(2, settled - c_free), c_cap)) - now()))::integer;
        if v_wait > 0 then
            return v_wait;
        end if;
    end if;
    if n >= c_free and last_any + make_interval(secs => least(power(2, n - c_free), c_cap)) > now() then
        return 1;
    end if;
    return 0;
end
$$;

-- Seconds until one more attempt for p_email from p_ip may start (0: now):
-- the hard limit per (account, address) and per address, the account's
-- delay. p_ip null (no address known) leaves the address out.
create or replace function registrar.auth_attempt_wait(p_email text, p_ip inet) returns integer
language plpgsql stable as $$
declare
    v_net cidr := registrar.address_key(p_ip);
    v_wait integer := registrar.auth_attempt_delay(p_email);
begin
    if v_net is not null then
        v_wait := greatest(v_wait, registrar.auth_attempt_limit(p_email, v_net),
                         registrar.auth_attempt_limit(null, v_net));
    end if;
    return v_wait;
end
$$;

-- Same contract as before (0002, 0005): refused (retry_after > 0, nothing
-- recorded) or an attempt row that counts while the password is checked.
--
-- Locking: a transaction-scoped advisory lock per email, then one per
-- address key (always in that order, so two attempts cannot deadlock),
-- serialises count-then-insert for every count above: the account's delay
-- and the (account, address) limit under the email's lock, the address
-- limit under the address's.
create or replace function registrar.auth_attempt_begin(p_email text, p_ip inet,
    out retry_after integer, out attempt_id bigint)
language plpgsql as $$
declare
    v_net cidr := registrar.address_key(p_ip);
begin
    perform pg_advisory_xact_lock(20021, hashtext(p_email));
    if v_net is not null then
        perform pg_advisory_xact_lock(20022, hashtext(v_net::text));
    end if;
    retry_after := registrar.auth_attempt_wait(p_email, p_ip);
    if retry_after > 0 then
        return;
    end if;
    insert into registrar.auth_failures (email, client_ip, client_net) values (p_email, p_ip, v_net)
    returning id into attempt_id;
    if random() < 0.01 then
        delete from registrar.auth_failures where at < now() - interval '15 minutes';
    end if;
end
$$;
