"""Offline sales: batches of up to 10,000 paid orders of one product, created at once to be sold outside the system
(box offices, resellers), and printed as one PDF with a chosen ticket layout.

An event-level plugin that builds on the PDF ticket output (``ticketoutputpdf``, whose layouts batches print with).
Creating and rendering run as background jobs; the REST API follows pretix's ``offlinesalesbatches`` resource.
See ``docs/offlinesales.md``.
"""

from __future__ import annotations

from typing import Any

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import JobDefinition
from boxoffice.plugins.offlinesales import models as models
from boxoffice.plugins.offlinesales.batches import CREATE_JOB, RENDER_JOB, create_batch_job, render_batch

plugin_meta = PluginMeta(
    name="Offline sales",
    description="Batches of up to 10,000 paid tickets for sale outside the system, printed as one PDF.",
    category="FEATURE",
    level="event",
)


@hookimpl
def register_jobs() -> list[JobDefinition]:
    return [JobDefinition(CREATE_JOB, create_batch_job), JobDefinition(RENDER_JOB, render_batch)]


@hookimpl
def register_api_routes() -> list[Any]:
    from boxoffice.plugins.offlinesales.api import ROUTES

    return ROUTES
