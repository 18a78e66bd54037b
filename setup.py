"""Maps the top-level folders (kernel/, hookspecs/, plugins/, apps/) onto the ``boxoffice`` namespace."""

from setuptools import find_packages, setup

FOLDERS = ("kernel", "hookspecs", "plugins", "apps")
DATA = ["**/*.po", "**/*.mako", "**/*.html", "**/*.json", "**/versions/*.py", "py.typed"]

packages: list[str] = []
package_dir: dict[str, str] = {}
for folder in FOLDERS:
    package_dir[f"boxoffice.{folder}"] = folder
    packages.append(f"boxoffice.{folder}")
    packages += [f"boxoffice.{folder}.{sub}" for sub in find_packages(folder)]

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={name: DATA for name in packages},
)
