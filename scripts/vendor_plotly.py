"""Fetch the partial plotly.js bundles that reports inline, for the installed plotly.py.

Reports inline the smallest plotly.js bundle that draws them (sim/report/plotly_js.py): the
*basic* and *cartesian* partial bundles Plotly publishes on npm, of the release plotly.py
was built against. After upgrading plotly.py, run

    .venv/bin/python scripts/vendor_plotly.py

to replace ``sim/report/assets/plotly-{basic,cartesian}.min.js`` with that release's
bundles. Each tarball is checked against the registry's sha512 integrity before anything
is written, and the bundles are copied unmodified. Until then reports fall back to
plotly.py's full bundle (correct, but 4.8 MB).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "sim" / "report" / "assets"
REGISTRY = "https://registry.npmjs.org"
#: npm package -> file in its tarball (and in ASSETS).
PACKAGES = {"plotly.js-basic-dist-min": "plotly-basic.min.js",
            "plotly.js-cartesian-dist-min": "plotly-cartesian.min.js"}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https only)
        return response.read()


def fetch(package: str, version: str) -> tuple[bytes, bytes]:
    """The bundle and licence of ``package@version``, checked against the registry."""
    meta = json.loads(_get(f"{REGISTRY}/{package}/{version}"))
    tarball = _get(meta["dist"]["tarball"])
    algorithm, digest = meta["dist"]["integrity"].split("-", 1)
    if algorithm != "sha512" or hashlib.sha512(tarball).digest() != base64.b64decode(digest):
        raise SystemExit(f"error: {package}@{version}: the tarball does not match the "
                         "registry's sha512 integrity; nothing was written")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        bundle = tar.extractfile(f"package/{PACKAGES[package]}").read()
        licence = tar.extractfile("package/LICENSE").read()
    return bundle, licence


def main(argv: list[str] | None = None) -> int:
    """Fetch, check and write both bundles; exit code 0."""
    from plotly.offline import get_plotlyjs_version

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=get_plotlyjs_version(),
                        help="plotly.js release (default: the installed plotly.py's)")
    args = parser.parse_args(argv)
    fetched = {package: fetch(package, args.version) for package in PACKAGES}
    for package, (bundle, licence) in fetched.items():
        if f" v{args.version}\n".encode() not in bundle[:200]:
            raise SystemExit(f"error: {package}@{args.version} does not say it is that "
                             "release in its header; nothing was written")
        (ASSETS / PACKAGES[package]).write_bytes(bundle)
        (ASSETS / "plotly.js-LICENSE.txt").write_bytes(licence)
        print(f"{PACKAGES[package]}: plotly.js {args.version}, {len(bundle):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
