"""`make ha-drill` (issue 21, item 6): the whole highly available set on this machine, from
Debian's packages, under a bounded write load, with its parts killed one after another.

Built: etcd; a Patroni cluster of a primary and a synchronous standby (PostgreSQL 15);
HAProxy routing to the current primary (Patroni's REST `/primary` check) and balancing two API
processes; PgBouncer (transaction mode) in front of HAProxy's primary port; Redis with a
replica and three Sentinels; two API processes and two workers (the service's own entry
points, configured as in production: `DATABASE_URL` to PgBouncer, `DATABASE_DIRECT_URL` to
HAProxy for LISTEN and migrations, `REDIS_URL` naming the Sentinels); an HTTP receiver for
webhooks and SMS in the drill itself.

Load: intakes, session bookings and hotline calls through HAProxy, every write with an
`Idempotency-Key` and retried with the same key on 502/503/504 or a broken connection (as a
client should). Mid-load the drill kills (SIGKILL) the PostgreSQL primary's node (Patroni and
its PostgreSQL), then the Redis master, then one API process and one worker.

Checks afterwards: every write answered 2xx exists exactly once (found by its marker); every
notification (webhook, SMS, inbox) the service decided to send was delivered, and none twice
to one receiver; no cron slot ran twice. The last line:

    ha drill: accepted=N found=N lost=0 duplicated=0 notifications=N delivered=N unavailable_s=X

exit status 1 when anything was lost or doubled (or undelivered). Everything started is stopped.
`HA_DRILL=short` (CI, a few minutes) or `long` (README)."""
