"""The embedded backend: the C core in-process, configured from a state file.

The embedded data plane lives inside each mupvpp process, so what persists
between commands is the applied intent (and the counters of the last
traffic run), in a JSON state file.  ``apply`` is all-or-nothing: the plan
is first carried out on a fresh engine built from the current state; only
if every operation succeeds is the new state written (atomically, by
rename).  A failure leaves the state file untouched and names the operation.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import click

from mupvpp.errors import ApplyError, InputError
from mupvpp.model import Intent
from mupvpp.plan import Op, apply_ops
from mupvpp.state import intent_from_dict, intent_to_dict, read_state_file


class EmbeddedBackend:
    """Backend protocol implementation over mupvpp.engine.Engine."""

    name = "embedded"

    def __init__(self, state_path: str | os.PathLike):
        self.path = Path(state_path)
        self._doc = self._load()

    # ---- state file ----
    def _load(self) -> dict:
        doc, self._intent = read_state_file(self.path)
        return doc

    def _save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".mupvpp-state.", dir=self.path.parent)
        except OSError as exc:
            raise InputError(
                f"--state {self.path}: cannot write the state file: {exc.strerror}"
            ) from exc
        with os.fdopen(fd, "w") as f:
            json.dump(self._doc, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def read_state(self) -> Intent | None:
        d = self._doc.get("intent")
        if d is None or d == {}:
            return None
        return intent_from_dict(d)

    # ---- the data plane ----
    def engine(self):
        """A fresh engine configured with the applied state."""
        from mupvpp.engine import Engine

        eng = Engine()
        cur = self.read_state()
        if cur is not None:
            eng.load_intent(cur)
        return eng

    def apply(self, ops: list[Op], desired: Intent) -> None:
        from mupvpp.engine import Engine, EngineError

        current = self.read_state()
        eng = Engine()
        if current is not None:
            eng.load_intent(current)
        done: list[Op] = []
        with click.progressbar(
            ops,
            label=f"applying {len(ops)} changes",
            file=sys.stderr,
            hidden=len(ops) < 1000,  # a bar only where it is worth one
        ) as bar:
            for op in bar:
                try:
                    _run_op(eng, op, desired)
                except (EngineError, KeyError) as exc:
                    raise ApplyError(
                        f"{op.action} {op.kind} {op.key} failed: {exc}; "
                        f"nothing applied ({len(done)} earlier change(s) undone)"
                    ) from exc
                done.append(op)
        new = apply_ops(current, ops)
        self._doc["intent"] = intent_to_dict(
            Intent(
                node=desired.node,
                policies=new.policies,
                sids=new.sids,
                type1=new.type1,
                type2=new.type2,
                source=desired.source,
            )
        )
        self._save()

    def counters(self) -> dict:
        return self._doc.get("counters", {})

    def save_counters(self, counters: dict) -> None:
        """Keep the counters of the last traffic run (replay, bench)."""
        if "intent" in self._doc:
            self._doc["counters"] = counters
            self._save()

    def close(self) -> None:
        pass

    def __enter__(self) -> EmbeddedBackend:
        # read again: under the CLI's state lock (mupvpp.state.StateLock)
        # another command may have saved since this object was made
        self._doc = self._load()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_op(eng, op: Op, desired: Intent) -> None:
    """Carry out one planned change on an engine."""
    if op.kind in ("node", "policy"):
        return  # compiled into the SIDs (node settings: from ``desired``)
    if op.kind == "sid":
        if op.action == "del":
            eng.del_sid(op.key)
        else:
            eng.set_sid(op.obj, desired)
    elif op.kind == "type1":
        s = op.obj or op.old
        if op.action == "del":
            eng.t1st_del(s.headend, s.ue_prefix)
        else:
            if op.action == "replace" and op.old.headend != s.headend:
                eng.t1st_del(op.old.headend, op.old.ue_prefix)
            eng.t1st_set(s.headend, s.ue_prefix, s.gnb, s.teid, s.qfi, s.rqi)
    elif op.kind == "type2":
        s = op.obj or op.old
        if op.action == "del":
            eng.t2st_del(s.headend, s.n3, s.teid)
        else:
            eng.t2st_set(s.headend, s.n3, s.teid, s.segment)
