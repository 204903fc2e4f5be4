-- 0005: tell failed sign-in attempts from attempts still being checked.
--
-- 0002 counts an attempt before its password is checked, so that however
-- many arrive at once no more than 10 are ever checked per account or
-- address. That stays. What changes is the answer to the ones refused
-- only because others are still in flight (a hospital's learners behind
-- one address, all signing in when registration opens): they are told to
-- retry in a second, not in 15 minutes, since those attempts may well
-- succeed and be forgotten.

alter table registrar.auth_failures add column pending boolean not null default false;
alter table registrar.auth_failures alter column pending set default true;

-- Seconds until one more attempt on this key (an email, or else an
-- address) may start; 0 if it may now. A pending row younger than a minute
-- may still turn out a success and counts against the limit; an older one
-- was never checked (the hashing queue was full and the client got 503
-- overloaded, or its server went away): no password was tried, so it
-- counts for nothing, and a learner retrying through an overload does not
-- pay for it. (An attempt is checked within seconds: the hashing queue
-- holds at most a few hundred hashes of tens of milliseconds.)
create function registrar.auth_attempt_wait(p_email text, p_ip inet) returns integer
language plpgsql stable as $$
declare
    c_window constant interval := interval '15 minutes';
    c_max constant integer := 10;
    n integer;
    settled integer;
    oldest timestamptz;
begin
    if p_email is not null then
        select count(*) filter (where not f.pending or f.at > now() - interval '1 minute'),
               count(*) filter (where not f.pending)
        into n, settled
        from registrar.auth_failures f where f.email = p_email and f.at > now() - c_window;
    else
        select count(*) filter (where not f.pending or f.at > now() - interval '1 minute'),
               count(*) filter (where not f.pending)
        into n, settled
        from registrar.auth_failures f where f.client_ip = p_ip and f.at > now() - c_window;
    end if;
    if n < c_max then
        return 0;
    end if;
    if settled < c_max then
        -- Some of the attempts that fill the window are still being checked.
        return 1;
    end if;
    select f.at into oldest from registrar.auth_failures f
    where (case when p_email is not null then f.email = p_email else f.client_ip = p_ip end)
      and f.at > now() - c_window and not f.pending
    order by f.at offset settled - c_max limit 1;
    return greatest(1, ceil(extract(epoch from oldest + c_window - now()))::integer);
end
$$;

-- As in 0002 (same contract, same locking: an advisory lock per email,
-- then per address, always in that order, around count-then-insert), with
-- the wait computed by auth_attempt_wait.
create or replace function registrar.auth_attempt_begin(p_email text, p_ip inet,
    out retry_after integer, out attempt_id bigint)
language plpgsql as $$
begin
    perform pg_advisory_xact_lock(20021, hashtext(p_email));
    if p_ip is not null then
        perform pg_advisory_xact_lock(20022, hashtext(host(p_ip)));
    end if;
    retry_after := registrar.auth_attempt_wait(p_email, null);
    if p_ip is not null then
        retry_after := greatest(retry_after, registrar.auth_attempt_wait(null, p_ip));
    end if;
    if retry_after > 0 then
        return;
    end if;
    insert into registrar.auth_failures (email, client_ip) values (p_email, p_ip)
    returning id into attempt_id;
    if random() < 0.01 then
        delete from registrar.auth_failures where at < now() - interval '15 minutes';
    end if;
end
$$;

-- The password was wrong: the attempt is a failure for good.
create function registrar.auth_attempt_fail(p_attempt bigint) returns void
language sql as $$
    update registrar.auth_failures set pending = false where id = p_attempt
$$;
