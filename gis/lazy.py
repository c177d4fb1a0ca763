"""Public names of a package loaded from their modules on first use (PEP 562).

A package lists its public names and the module of each; importing the package
then loads none of them, and the first use of a name imports its module. The
packages ``gis``, ``gis.io`` and ``layers`` export this way, so a process pays only
for what it uses (``import gis`` does not load rasterio, scipy or pandas).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, api: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package with lazily loaded names.

    Parameters
    ----------
    package
        The package's name, for the error of an unknown attribute.
    api
        Public name -> the module that defines it.
    namespace
        The package's ``globals()``: a loaded name is cached there, so the module
        is asked once.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)``, to assign at the package's top level.

    Examples
    --------
    >>> ns: dict = {}
    >>> getattr_, dir_ = lazy_exports("demo", {"sqrt": "math"}, ns)
    >>> getattr_("sqrt")(9.0), "sqrt" in ns, dir_()
    (3.0, True, ['sqrt'])
    """

    def __getattr__(name: str) -> Any:
        module = api.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *api})

    return __getattr__, __dir__
