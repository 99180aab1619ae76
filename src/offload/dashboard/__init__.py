"""The web dashboard, served by ``offload serve`` at ``/ui`` on the gateway's port.

Pages: Overview (backend health, loaded models against the VRAM budget, today's traffic, avoided cloud cost),
Requests (a live list with a detail view and replay), Savings (charts by day, model and kind), Models (the
inventory; pull with progress, load, unload), Playground (streamed chat, and Code Mode through the verified
cascade) and Bench (result sets and their reports). Everything ships inside the package and works offline.
See ``docs/dashboard.md``.
"""

from offload.dashboard.app import MOUNT, Dashboard
from offload.dashboard.events import Event, EventHub, JournalWatcher
from offload.dashboard.guard import CSRF_HEADER, SESSION_COOKIE, Guard

__all__ = ["CSRF_HEADER", "MOUNT", "SESSION_COOKIE", "Dashboard", "Event", "EventHub", "Guard", "JournalWatcher"]
