#!/usr/bin/env python3
"""derive-fixture.py SRC DEST VERSION: copy the fixture app SRC to DEST (without node_modules and
build) with VERSION as the app's version in package.json and package-lock.json, as `npm version`
would write it. The dependencies stay the same: a release that only bumps its version."""
import json
import shutil
import sys
from pathlib import Path

src, dest, version = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
shutil.rmtree(dest, ignore_errors=True)
shutil.copytree(src, dest, ignore=lambda d, names: [n for n in names if Path(d) == src and n in ("node_modules", "build")])
package = json.loads((dest / "package.json").read_text())
package["version"] = version
(dest / "package.json").write_text(json.dumps(package, indent=2) + "\n")
lock_path = dest / "package-lock.json"
lock = json.loads(lock_path.read_text())
lock["version"] = version
lock["packages"][""]["version"] = version
lock_path.write_text(json.dumps(lock, indent=2) + "\n")
