"""Backends run a plan on a data plane.

Two implement :class:`Backend`: ``embedded.EmbeddedBackend`` (the C core
in-process through cffi; the default) and ``vpp.VppBackend`` (a live VPP over
its API socket).  Use them as context managers::

    with open_backend(vpp_socket=None, state_path=".mupvpp-state.json") as be:
        ops = plan(desired, be.read_state())
        be.apply(ops, desired)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from mupvpp.model import Intent
    from mupvpp.plan import Op


@runtime_checkable
class Backend(Protocol):
    """What the CLI needs from a data plane."""

    def read_state(self) -> Intent | None:
        """The configuration now in force, as an Intent (None: never applied).

        Raises BackendUnavailable when the data plane cannot be reached.
        """
        ...

    def apply(self, ops: list[Op], desired: Intent) -> None:
        """Run ``ops`` (from :func:`mupvpp.plan.plan`) all-or-nothing.

        Node settings (encap source, compat) are taken from ``desired``.  On
        failure, undo what was done and raise ApplyError naming the failed op
        and why; raise BackendUnsupported before changing anything when an op
        needs what this data plane lacks.
        """
        ...

    def counters(self) -> dict:
        """Counters by name (per SID / per drop reason), JSON-ready."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...


def open_backend(vpp_socket: str | None, state_path: str, **kw) -> Backend:
    """The live VPP backend when ``vpp_socket`` is given, else the embedded one.

    Imported lazily: the embedded engine needs its compiled cffi module and
    the VPP backend needs vpp_papi.
    """
    if vpp_socket:
        from mupvpp.backends.vpp import VppBackend

        return VppBackend(vpp_socket, state_path=state_path, **kw)
    from mupvpp.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(state_path)
