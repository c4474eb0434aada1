"""The one exception hierarchy of mupvpp, and the process exit codes.

Every error the CLI can report is a :class:`MupError`; its ``exit_code`` is
the status ``mupvpp`` exits with.  Exit codes are positive and stable:

====  ======================  ==============================================
code  class                   meaning
====  ======================  ==============================================
0     -                       success
1     -                       unexpected internal error (a bug: report it)
2     (click usage error)     bad command line (unknown option, missing arg)
3     IntentError             the intent (YAML) is invalid or unreadable (a
                              missing CONFIG too, for every command); every
                              problem is listed as
                              ``FILE:LINE: OBJECT: FIELD: MESSAGE``
4     ApplyError              applying a plan failed; what was done was undone
5     BackendUnavailable      the data plane is unreachable or timed out
6     BackendUnsupported      the data plane lacks a feature, plugin or message
7     InputError              bad input file: pcap (packets), session list,
                              TRex profile or state file; also `bench` when
                              nothing at all could be measured
====  ======================  ==============================================
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_USAGE = 2


class MupError(Exception):
    """Base of every error mupvpp reports to a user."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an intent, located in its file.

    ``obj`` names the object (``sid gtp4e``, ``policy to-pe``, ``node``,
    ``type1 10.10.0.1/32``); ``field`` the key inside it (``limit.rate_bits``).
    ``severity`` is "error" or "warning"; warnings never fail validation.
    """

    file: str
    line: int
    obj: str
    field: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        sev = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {self.obj}: {self.field}: {sev}{self.message}"


class IntentError(MupError):
    """The intent is invalid; ``problems`` lists every problem found."""

    exit_code = 3

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ApplyError(MupError):
    """A plan could not be applied; the changes made so far were undone.

    ``op`` is the failed operation (a :class:`mupvpp.plan.Op`) when known.
    """

    exit_code = 4

    def __init__(self, message: str, op: object | None = None):
        self.op = op
        super().__init__(message)


class BackendUnavailable(MupError):
    """The data plane (VPP API socket, embedded engine) cannot be reached."""

    exit_code = 5


class BackendUnsupported(MupError):
    """The data plane lacks what the intent needs (plugin, API message)."""

    exit_code = 6


class InputError(MupError):
    """An input file (pcap, session list, TRex profile, state file) is
    malformed or unusable."""

    exit_code = 7
