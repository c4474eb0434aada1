"""Build hook: compiles the C core (vpp_plugins/srv6_mup/core) with cffi.

Everything else is in pyproject.toml.  The extension is built by
``pip install .`` / ``pip install -e .``; no hand step.
"""

from setuptools import setup

setup(cffi_modules=["mupvpp/engine/build.py:ffibuilder"])
