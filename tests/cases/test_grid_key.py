"""The grid key (`mediation.auth.scope.GRID_KEY_SQL`, migration 0035) selects exactly what the
grid's prefix selects: a list written with one instead of the other shows the same cases."""

from __future__ import annotations

from sqlalchemy import text

from mediation.auth.scope import GRID_KEY_SQL, grid_key, like_prefix
from tests.support.world import World

PATHS = [
    "1.",
    "1.2.",
    "1.2.3.4.",
    "1.2.3.4.5.",
    "1.2.3.4.5.6.",
    "1.2.3.4.5.6.7.",
    "1.2.3.4.55.",
    "1.2.3.4.55.6.",
    "1.2.3.45.5.",
    "11.2.3.4.5.",
    "1.2.3.4.5.60.7.",
    "1.2.3.4.6.5.",
]


def test_only_a_grids_pattern_has_a_key() -> None:
    assert grid_key(like_prefix("1.2.3.4.5.")) == "1.2.3.4.5."
    for path in ("1.2.3.4.", "1.2.3.4.5.6.", "1.2.3.4.5", "a_b.2.3.4.5.", "a%b.2.3.4.5."):
        assert grid_key(like_prefix(path)) is None, path


async def test_the_key_and_the_prefix_select_the_same_paths(world: World) -> None:
    grids = [p for p in PATHS if grid_key(like_prefix(p)) is not None]
    assert len(grids) == 4
    values = ", ".join(f"('{p}')" for p in PATHS)
    async with world.db() as session:
        for grid in grids:
            rows = await session.execute(
                text(
                    f"SELECT unit_path, {GRID_KEY_SQL} = :key, unit_path LIKE :pattern "
                    f"FROM (VALUES {values}) AS t(unit_path)"
                ),
                {"key": grid, "pattern": like_prefix(grid)},
            )
            for path, by_key, by_prefix in rows:
                assert by_key is not None or by_prefix is False, path
                assert bool(by_key) is by_prefix, (grid, path)
