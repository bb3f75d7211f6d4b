"""Outreach use cases: activities, the micro-class series and classes, residents' opinions (and
turning one into a dispute case), the self-governance office's duty rota and its gaps. Each
sub-resource has its module; the service routers use is all of them over one transaction."""

from __future__ import annotations

from mediation_api.outreach.activities import ActivityService
from mediation_api.outreach.classes import ClassService
from mediation_api.outreach.opinions import OpinionService
from mediation_api.outreach.rota import RotaService


class OutreachService(ActivityService, ClassService, OpinionService, RotaService):
    """Every outreach use case, over the request's transaction."""
