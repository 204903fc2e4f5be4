-- 0006: an attempt that never got a verdict counts for nothing.
--
-- A pending attempt row older than a minute was never checked: the hashing
-- queue was full (the client got 503 overloaded) or its server went away.
-- No password was tried, so it must not lock anyone out; 0005 counted it as
-- a failure, which a learner retrying through an overload would pay for.
-- (An attempt is checked within seconds: the hashing queue holds at most a
-- few hundred hashes of tens of milliseconds.)

create or replace function registrar.auth_attempt_wait(p_email text, p_ip inet) returns integer
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
