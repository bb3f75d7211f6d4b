"""`mediation.db.built`: an ORM instance as the constructor makes it, without its events."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import inspect

from mediation.db import built
from mediation.sessions.enums import MediatorBody
from mediation.sessions.models import SessionMediator


def test_built_holds_the_values_and_reads_like_a_constructed_instance() -> None:
    values = {
        "id": uuid.uuid4(),
        "person_id": uuid.uuid4(),
        "body": MediatorBody.police,
        "is_lead": True,
        "position": 2,
    }
    fast, slow = built(SessionMediator, **values), SessionMediator(**values)
    keys = [p.key for p in inspect(SessionMediator).column_attrs]
    assert {k: getattr(fast, k) for k in keys} == {k: getattr(slow, k) for k in keys}
    assert fast.session_id is None  # not given: None, as the constructor leaves it
    assert inspect(fast).transient
    fast.position = 3
    assert fast.position == 3


def test_built_refuses_what_is_not_a_column() -> None:
    with pytest.raises(TypeError, match="nope"):
        built(SessionMediator, id=uuid.uuid4(), nope=1)
