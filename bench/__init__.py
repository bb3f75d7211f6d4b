"""Benchmarks: a realistic district at scale, load runs against the real service, and the
same queries behind a bare Starlette + asyncpg endpoint as the ceiling. See bench/README.md."""
