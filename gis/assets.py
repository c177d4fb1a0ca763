"""Local copies of the JavaScript and CSS libraries that folium maps load from CDNs.

A folium page links Leaflet, jQuery, Bootstrap, Font Awesome, the awesome-markers
plugin and (for legends) d3 from public CDNs, so on a machine without internet it
shows a blank page. :func:`inline_assets` rewrites such a page to carry the
libraries it needs inside the HTML itself, read from installed Python packages:

=============  ===================  ==========================  ================
library        package (PyPI)       file                        licence
=============  ===================  ==========================  ================
Leaflet 1.9.3  XStatic-Leaflet      ``leaflet.js``, ``.css``    BSD-2-Clause
jQuery 3.7.1   XStatic-jQuery       ``jquery.min.js``           MIT
d3 3.5         XStatic-D3           ``d3.js``                   BSD-3-Clause
=============  ===================  ==========================  ================

The images Leaflet's stylesheet refers to are embedded as ``data:`` URLs. Bootstrap,
Font Awesome, Glyphicons and the awesome-markers plugin only style markers and
icons, which innosite maps do not use; their links are removed. Any other remote
script or stylesheet is refused with :class:`~gis.errors.InputError`, so a page
that claims to work offline does.
"""

from __future__ import annotations

import base64
import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gis.errors import DataSourceError, InputError

__all__ = ["ASSETS", "DROPPED", "Asset", "asset_path", "asset_text", "inline_assets"]


@dataclass(frozen=True)
class Asset:
    """A library file shipped by an installed package."""

    distribution: str  #: name on PyPI
    module: str  #: importable package holding a ``data`` folder
    file: str  #: path inside that ``data`` folder
    kind: str  #: ``"js"`` or ``"css"``
    licence: str


#: Remote file (pattern matched against the URL) → local copy.
ASSETS: dict[str, Asset] = {
    r"/leaflet(@[\d.]+)?(/dist)?/leaflet\.js$": Asset(
        "XStatic-Leaflet", "xstatic.pkg.leaflet", "leaflet.js", "js", "BSD-2-Clause"
    ),
    r"/leaflet(@[\d.]+)?(/dist)?/leaflet\.css$": Asset(
        "XStatic-Leaflet", "xstatic.pkg.leaflet", "leaflet.css", "css", "BSD-2-Clause"
    ),
    r"/jquery-3\.[\d.]+(\.min)?\.js$": Asset(
        "XStatic-jQuery", "xstatic.pkg.jquery", "jquery.min.js", "js", "MIT"
    ),
    r"/d3/3\.[\d.]+/d3(\.min)?\.js$": Asset(
        "XStatic-D3", "xstatic.pkg.d3", "d3.js", "js", "BSD-3-Clause"
    ),
}

#: Remote files that only serve marker icons and Bootstrap widgets; dropped offline.
DROPPED: tuple[str, ...] = (
    r"/bootstrap[@/][\d.]+/.*bootstrap(\.bundle)?(\.min)?\.(js|css)$",
    r"/bootstrap-glyphicons\.css$",
    r"/fontawesome-free@[\d.]+/css/all(\.min)?\.css$",
    r"/font-awesome/[\d.]+/css/(all|font-awesome)(\.min)?\.css$",
    r"/Leaflet\.awesome-markers/[\d.]+/leaflet\.awesome-markers(\.min)?\.(js|css)$",
    r"/leaflet\.awesome\.rotate(\.min)?\.css$",
)

_SCRIPT = re.compile(r'<script src="(https?://[^"]+)"></script>')
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="(https?://[^"]+)"\s*/?>')
_CSS_URL = re.compile(r"url\((?!data:|#)([^)]+)\)")


def asset_path(asset: Asset) -> Path:
    """Path of ``asset`` in its installed package.

    Raises
    ------
    DataSourceError
        If the package is not installed (the message says which to install).
    """
    try:
        spec = importlib.util.find_spec(asset.module)
    except ModuleNotFoundError:
        spec = None
    if spec is None or spec.origin is None:
        raise DataSourceError(
            f"offline maps need the {asset.distribution} package for {asset.file}; "
            f"install it with: python -m pip install {asset.distribution}"
        )
    path = Path(spec.origin).parent / "data" / asset.file
    if not path.is_file():
        raise DataSourceError(
            f"{asset.distribution} is installed but has no {asset.file} ({path}); "
            f"reinstall it with: python -m pip install --force-reinstall {asset.distribution}"
        )
    return path


def _data_url(path: Path) -> str:
    mime = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}.get(
        path.suffix.lower(), "application/octet-stream"
    )
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@lru_cache(maxsize=16)
def asset_text(asset: Asset) -> str:
    """Text of ``asset``, made safe to place inside ``<script>`` or ``<style>``.

    Relative ``url(...)`` references of a stylesheet are replaced by ``data:`` URLs
    of the files they name; ``</script`` and ``</style`` are escaped so the text
    cannot end its element early.
    """
    path = asset_path(asset)
    text = path.read_text(encoding="utf-8")
    if asset.kind == "css":

        def embed(match: re.Match[str]) -> str:
            ref = match.group(1).strip("'\" ")
            target = (path.parent / ref).resolve()
            if target.is_file():
                return f"url({_data_url(target)})"
            return match.group(0)

        text = _CSS_URL.sub(embed, text)
        return re.sub(r"</(style)", r"<\\/\1", text, flags=re.IGNORECASE)
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def _local(url: str) -> Asset | None:
    for pattern, asset in ASSETS.items():
        if re.search(pattern, url):
            return asset
    return None


def _dropped(url: str) -> bool:
    return any(re.search(pattern, url) for pattern in DROPPED)


def inline_assets(html: str) -> str:
    """Replace the CDN links of a folium page by inline copies of the libraries.

    Parameters
    ----------
    html
        A rendered folium page.

    Returns
    -------
    str
        The page with Leaflet, jQuery and d3 inside ``<script>``/``<style>`` elements
        and the marker-icon libraries removed. Each library is embedded once.

    Raises
    ------
    InputError
        If the page links a remote script or stylesheet that has no local copy.
    DataSourceError
        If a package holding a library is not installed.

    Examples
    --------
    >>> page = ('<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">'
    ...         '</script><link rel="stylesheet" href="https://x.org/bootstrap@5.2.2/dist/css/'
    ...         'bootstrap.min.css"/>')
    >>> out = inline_assets(page)
    >>> out.startswith("<script>/* @preserve"), 'src="http' in out, "bootstrap.min" in out
    (True, False, False)
    """
    seen: set[Asset] = set()
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        url = match.group(1)
        asset = _local(url)
        if asset is None:
            if not _dropped(url):
                unknown.append(url)
            return ""
        if asset in seen:
            return ""
        seen.add(asset)
        comment = f"/* {asset.file} from {asset.distribution} ({asset.licence}) */\n"
        if asset.kind == "js":
            return f"<script>{asset_text(asset)}\n{comment}</script>"
        return f"<style>{asset_text(asset)}\n{comment}</style>"

    out = _STYLESHEET.sub(replace, _SCRIPT.sub(replace, html))
    if unknown:
        raise InputError(
            "no local copy of these remote libraries, so the map cannot be made to work "
            f"offline: {', '.join(unknown)}; use assets='cdn' for this map"
        )
    return out
