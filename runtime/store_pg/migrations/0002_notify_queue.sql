-- Wake idle workers: every new free queue row notifies channel airlock_queue with its agent version.
CREATE FUNCTION airlock_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.lease_owner IS NULL THEN
        PERFORM pg_notify('airlock_queue', NEW.agent_version);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER queue_notify AFTER INSERT OR UPDATE OF lease_owner ON queue
    FOR EACH ROW EXECUTE FUNCTION airlock_queue_notify();
